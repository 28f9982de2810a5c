// A real OpenID Connect provider (npm oidc-provider) for rrdash's login
// tests, on 127.0.0.1 only.
//
//   node provider.mjs REDIRECT_URI POST_LOGOUT_REDIRECT_URI [PORT]
//
// It listens on PORT (0, the default, picks a free one), prints
// "issuer http://127.0.0.1:PORT" on stdout once ready, and serves until
// killed or its stdin closes. One confidential client: "rrdash-test" with
// secret "rrdash-test-secret", authorization code flow, PKCE required.
// Accounts: any login name of ACCOUNTS below; dev interactions (a login
// form taking any password, then a consent form).
import http from "node:http";
import Provider from "oidc-provider";

const [redirectURI, postLogoutURI, portArg] = process.argv.slice(2);
if (!redirectURI || !postLogoutURI) {
  console.error("usage: node provider.mjs REDIRECT_URI POST_LOGOUT_REDIRECT_URI [PORT]");
  process.exit(2);
}

const ACCOUNTS = {
  alice: { name: "Alice Liddell", email: "alice@example.com", email_verified: true, groups: ["staff", "ops"] },
  bob: { name: "Bob Builder", email: "bob@example.com", email_verified: true, groups: ["staff"] },
  eve: { name: "Eve Outsider", email: "eve@evil.example", email_verified: true, groups: ["guests"] },
  carol: { name: "Carol Contractor", email: "carol@example.com", email_verified: true, groups: ["contractors"] },
};

const server = http.createServer();
server.listen(Number(portArg || 0), "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: "rrdash-test",
      client_secret: "rrdash-test-secret",
      redirect_uris: [redirectURI],
      post_logout_redirect_uris: [postLogoutURI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    async findAccount(ctx, id) {
      const a = ACCOUNTS[id];
      if (!a) return undefined;
      return {
        accountId: id,
        async claims() { return { sub: id, preferred_username: id, ...a }; },
      };
    },
    claims: {
      openid: ["sub"],
      profile: ["name", "preferred_username"],
      email: ["email", "email_verified"],
      groups: ["groups"],
    },
    scopes: ["openid", "profile", "email", "groups"],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: ["rrdash-test-cookie-key-not-secret"] },
  });
  // Unknown login names would otherwise fail late with a 500.
  provider.on("server_error", (ctx, err) => console.error("server_error", err));
  server.on("request", provider.callback());
  console.log(`issuer ${issuer}`);
});

// The test owns this process: end with it.
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
