/**
 * Test helpers for fastkit apps: throwaway databases on PostgreSQL and PGlite, and the dialect
 * matrix (`DIALECTS`, `TEST_DATABASE_URL`).
 */
export { createTestDatabase, dialectsUnderTest, testRedisUrl, testServerUrl, type TestDatabase } from './test-database.js'
