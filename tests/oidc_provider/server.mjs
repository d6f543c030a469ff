// A real OpenID Provider for the portal's relying-party tests: panva's oidc-provider with its
// development interactions (any login, then a consent screen). Usage:
//   node server.mjs <port> <client_id> <client_secret> <redirect_uri>
//   node server.mjs <port> <client_id> <client_secret> <redirect_uri> strict
// "strict" is a second configuration: the issuer has a path (/op), the only signing key is
// an ES256 (P-256) key, and subjects are pairwise (each client sees its own sub).
// Accounts: the login typed is the account id; its profile claims follow from it.
import { createHash, generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri, variant] = process.argv.slice(2);
const strict = variant === "strict";
const prefix = strict ? "/op" : "";
const issuer = `http://127.0.0.1:${port}${prefix}`;

function es256Key() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...privateKey.export({ format: "jwk" }), kid: "es256-1", alg: "ES256", use: "sig" };
}

const profiles = {
  "parent-5": {
    family_name: "Пятёркина", given_name: "Инна", middle_name: "Олеговна",
    email: "inna.pyaterkina@example.test", phone_number: "+7 (917) 000-05-05",
  },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: "client_secret_basic",
    ...(strict ? { id_token_signed_response_alg: "ES256", subject_type: "pairwise" } : {}),
  }],
  ...(strict ? {
    jwks: { keys: [es256Key()] },
    subjectTypes: ["public", "pairwise"],
    async pairwiseIdentifier(ctx, accountId, client) {
      return createHash("sha256").update(`${client.sectorIdentifier}|${accountId}|salt`)
        .digest("hex");
    },
  } : {}),
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    phone: ["phone_number", "phone_number_verified"],
    profile: ["family_name", "given_name", "middle_name"],
  },
  pkce: { required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
  async findAccount(ctx, id) {
    const profile = profiles[id] || {};
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...profile, email_verified: true, phone_number_verified: true };
      },
    };
  },
});

const handle = provider.callback();
createServer((req, res) => {
  if (!req.url.startsWith(prefix)) {
    res.writeHead(404).end();
    return;
  }
  // Mounted under the prefix as Express would: the provider reads the mount path from
  // originalUrl and builds its endpoints' URLs under it.
  req.originalUrl = req.url;
  req.url = req.url.slice(prefix.length) || "/";
  handle(req, res);
}).listen(Number(port), "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
