/** An `authenticate` for tests: the bearer token is the user's name (`{ sub: token }`); no token is anonymous. */
export function userOfToken(_request: unknown, token: string | undefined): unknown {
  return token ? { sub: token } : null;
}
