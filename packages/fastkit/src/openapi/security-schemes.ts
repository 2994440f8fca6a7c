/**
 * Name of the OpenAPI security scheme of bearer-token routes: the router puts it on every route with
 * `auth`, the openapi plugin defines it (and adds OAuth2 next to it). One constant, so the two cannot drift.
 */
export const BEARER_AUTH_SCHEME = 'bearerAuth'
