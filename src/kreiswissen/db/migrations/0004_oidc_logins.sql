-- Pending OpenID Connect logins: state, nonce and PKCE verifier, single use, a few minutes long.
-- In the database (not in one process's memory) so any worker behind the load balancer can finish a login.
CREATE TABLE oidc_logins (
    state         text PRIMARY KEY,
    nonce         text NOT NULL,
    code_verifier text NOT NULL,
    redirect_uri  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
