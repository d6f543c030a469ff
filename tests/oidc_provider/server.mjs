// A real OpenID Provider for the portal's relying-party tests: panva's oidc-provider with its
// development interactions (any login, then a consent screen). Usage:
//   node server.mjs <port> <client_id> <client_secret> <redirect_uri>
// Accounts: the login typed is the account id; its profile claims follow from it.
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

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
  }],
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

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
