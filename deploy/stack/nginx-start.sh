#!/bin/sh
# A self-signed development certificate for the regions' hosts, their development hosts
# (<slug>.localhost) and the emulator's (idp.localhost), made once per volume.
set -eu
tls=/etc/nginx/tls
hosts="localhost myschool.edu.ru myschool.mosreg.ru education.admoblkaluga.ru ms-edu.tatar.ru
  school.mos.ru mosreg.localhost kaluga.localhost tatarstan.localhost moscow.localhost
  idp.localhost"
if [ ! -s "$tls/cert.pem" ]; then
  mkdir -p "$tls"
  names="IP:127.0.0.1"
  for host in $hosts; do names="$names,DNS:$host"; done
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=myschool development" \
    -addext "subjectAltName=$names" -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
fi
exec nginx -g "daemon off;"
