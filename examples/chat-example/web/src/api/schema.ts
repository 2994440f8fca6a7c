// Generated from the chat's OpenAPI document by openapi-typescript. Do not edit by hand:
// regenerate with `pnpm --filter chat-example generate:api` after changing a route or schema.
// test/web-api-types.test.ts fails while this file differs from what the server describes.

export interface paths {
    "/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Log in with username and password (OAuth2 password flow) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @enum {string} */
                        grant_type?: "password";
                        password: string;
                        scope?: string;
                        username: string;
                    };
                    "application/x-www-form-urlencoded": {
                        /** @enum {string} */
                        grant_type?: "password";
                        password: string;
                        scope?: string;
                        username: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TokenResponse"];
                    };
                };
                /** @description Too many failed attempts; see Retry-After */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Too Many Requests",
                         *       "status": 429,
                         *       "detail": "Too many attempts; retry later",
                         *       "code": "RATE_LIMITED"
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description The server is busy hashing passwords; see Retry-After */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Service Unavailable",
                         *       "status": 503,
                         *       "detail": "Service unavailable",
                         *       "code": "SERVICE_UNAVAILABLE"
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** End this login's session (or every session, without a refresh token) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        refresh_token?: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No Content */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The signed-in user */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["User"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete your account (confirm with your password)
         * @description Deletes the account, its memberships, the chats it owns and its messages. Its tokens then get 401 and its WebSockets close with 4003. Members of its chats receive chat.deleted (owned chats), message.deleted (its messages) and chat.member_removed (other chats).
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        password: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No Content */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Wrong password */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Forbidden",
                         *       "status": 403,
                         *       "detail": "Forbidden",
                         *       "code": "FORBIDDEN"
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Too many wrong passwords (the login throttle) */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Too Many Requests",
                         *       "status": 429,
                         *       "detail": "Too many attempts; retry later",
                         *       "code": "RATE_LIMITED"
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/protected": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** The verified claims of the caller's access token */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AccessTokenClaims"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Exchange a refresh token for new tokens */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        refresh_token: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TokenResponse"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create an account */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        password: string;
                        username: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Created */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["User"];
                    };
                };
                /** @description Too many registrations from this address; see Retry-After */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Too Many Requests",
                         *       "status": 429,
                         *       "detail": "Too many attempts; retry later",
                         *       "code": "RATE_LIMITED"
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description The server is busy hashing passwords; see Retry-After */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Service Unavailable",
                         *       "status": 503,
                         *       "detail": "Service unavailable",
                         *       "code": "SERVICE_UNAVAILABLE"
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/chats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List chats */
        get: {
            parameters: {
                query?: {
                    /** @description Also return the total number of matching items */
                    count?: "true" | "false";
                    /** @description The nextCursor of the previous page */
                    cursor?: string;
                    /** @description Page size, 1..100 (default 50) */
                    limit?: number;
                    /** @description Comma-separated sort keys, "-" for descending. Sortable: createdAt, updatedAt, name */
                    sort?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["Chat"][];
                            /** @description Pass as `cursor` for the next page; null on the last page */
                            nextCursor: string | null;
                            /** @description Only when asked for: the number of matching items */
                            total?: number;
                        };
                    };
                };
            };
        };
        put?: never;
        /** Create a chat */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @default false */
                        isGroup?: boolean;
                        /** @default [] */
                        memberIds?: string[];
                        name: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Created */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Chat"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/chats/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a chat */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Chat"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a chat */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No content */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        /** Change some fields of a chat */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Chat"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/chats/{id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the members of a chat */
        get: {
            parameters: {
                query?: {
                    /** @description The nextCursor of the previous page */
                    cursor?: string;
                    /** @description Page size, 1..100 (default 50) */
                    limit?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["ChatMember"][];
                            /** @description Pass as `cursor` for the next page; null on the last page */
                            nextCursor: string | null;
                            /** @description Only when asked for: the number of matching items */
                            total?: number;
                        };
                    };
                };
            };
        };
        put?: never;
        /** Add a member (owner only) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** Format: uuid */
                        userId: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Created */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ChatMember"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/chats/{id}/members/{userId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Remove a member (the owner removes others, a member leaves) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                    userId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No Content */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The process is up */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            status: "ok";
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List a chat's messages: newest first, or oldest first after a given message */
        get: {
            parameters: {
                query: {
                    /** @description Catch-up: only messages after this one, oldest first; follow nextCursor (keeping after) until it is null */
                    after?: string;
                    /** @description The chat whose messages to list (required) */
                    chatId: string;
                    /** @description The nextCursor of the previous page (with the same chatId and after) */
                    cursor?: string;
                    /** @description Page size, 1..100 (default 50) */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["Message"][];
                            /** @description Pass as `cursor` for the next page; null on the last page */
                            nextCursor: string | null;
                            /** @description Only when asked for: the number of matching items */
                            total?: number;
                        };
                    };
                };
            };
        };
        put?: never;
        /** Create a message */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** Format: uuid */
                        chatId: string;
                        text: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description Created */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Message"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/messages/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a message */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Message"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a message */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description No content */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        /** Change some fields of a message */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        text: string;
                    };
                };
            };
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Message"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The database answers */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            status: "ok";
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Search users by username prefix */
        get: {
            parameters: {
                query?: {
                    /** @description The nextCursor of the previous page */
                    cursor?: string;
                    /** @description Page size, 1..100 (default 50) */
                    limit?: number;
                    /** @description Username prefix, case-insensitive */
                    search?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: components["schemas"]["UserSummary"][];
                            /** @description Pass as `cursor` for the next page; null on the last page */
                            nextCursor: string | null;
                            /** @description Only when asked for: the number of matching items */
                            total?: number;
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a user */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Client error: an RFC 9457 problem with a stable `code` (and field `errors` for a 400) */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        /**
                         * @example {
                         *       "type": "about:blank",
                         *       "title": "Bad Request",
                         *       "status": 400,
                         *       "detail": "Request validation failed",
                         *       "code": "VALIDATION_FAILED",
                         *       "errors": [
                         *         {
                         *           "path": "body.title",
                         *           "message": "Too small: expected string to have >=1 characters"
                         *         }
                         *       ]
                         *     }
                         */
                        "application/problem+json": components["schemas"]["Problem"];
                    };
                };
                /** @description OK */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["User"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        AccessTokenClaims: {
            aud: string | string[];
            exp: number;
            iat: number;
            iss: string;
            jti?: string;
            /** @description The login (session) the token belongs to */
            sid?: string;
            /** @description The user id */
            sub: string;
            username: string;
        };
        Chat: {
            /** Format: date-time */
            createdAt: string;
            /** Format: uuid */
            id: string;
            isGroup: boolean;
            name: string;
            /** Format: uuid */
            ownerId: string;
            /** Format: date-time */
            updatedAt: string;
        };
        ChatMember: {
            /** Format: date-time */
            joinedAt: string;
            /** @enum {string} */
            role: "owner" | "member";
            /** Format: uuid */
            userId: string;
            username: string;
        };
        Message: {
            /** Format: uuid */
            chatId: string;
            /** Format: date-time */
            createdAt: string;
            editedAt: string | null;
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            senderId: string;
            text: string;
            /** Format: date-time */
            updatedAt: string;
        };
        /** @description An RFC 9457 problem details object */
        Problem: {
            code: string;
            detail: string;
            errors?: {
                message: string;
                path: string;
            }[];
            status: number;
            title: string;
            type: string;
        };
        TokenResponse: {
            access_token: string;
            expires_in: number;
            refresh_token: string;
            /** @constant */
            token_type: "bearer";
        };
        User: {
            /** Format: date-time */
            createdAt: string;
            /** Format: uuid */
            id: string;
            username: string;
        };
        UserSummary: {
            /** Format: uuid */
            id: string;
            username: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
