"""The emulator's memory, in one process or shared by several through a SQLite file."""

import threading
import time

import pytest
from werkzeug.exceptions import NotFound

from idp_emulator.state import MemoryState, SqliteState


@pytest.fixture(params=["memory", "sqlite"])
def pair(request, tmp_path):
    """Two handles on one state: the same object in memory; two 'processes' (separate
    connections) on one file."""
    if request.param == "memory":
        state = MemoryState()
        return state, state
    return SqliteState(tmp_path / "state.db"), SqliteState(tmp_path / "state.db")


def test_what_one_writes_the_other_reads_until_it_expires(pair):
    first, second = pair
    first.put("code", "a", {"sub": "x", "scopes": ["openid"]}, ttl=60)
    first.put("code", "old", {"sub": "y"}, ttl=-1)
    assert second.get("code", "a") == {"sub": "x", "scopes": ["openid"]}
    assert second.get("code", "old") is None
    assert second.get("token", "a") is None  # spaces are apart


def test_a_login_in_progress_is_404_once_finished(pair):
    first, second = pair
    request_id = first.begin({"client_id": "C"}, ttl=60)
    assert second.waiting(request_id) == {"client_id": "C"}
    assert second.pop("login", request_id) == {"client_id": "C"}
    assert first.pop("login", request_id) is None
    with pytest.raises(NotFound):
        first.waiting(request_id)


def test_a_code_is_claimed_once_even_by_many_at_once(pair):
    first, second = pair
    first.put("code", "c", {"sub": "x"}, ttl=60)
    won, start = [], threading.Barrier(8)

    def claim(state):
        start.wait()
        if state.claim("code", "c") is not None:
            won.append(1)

    threads = [threading.Thread(target=claim, args=(pair[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won == [1]
    assert second.claim("code", "c") is None


def test_an_expired_code_cannot_be_claimed(pair):
    first, second = pair
    first.put("code", "c", {"sub": "x"}, ttl=0.05)
    time.sleep(0.1)
    assert second.claim("code", "c") is None
