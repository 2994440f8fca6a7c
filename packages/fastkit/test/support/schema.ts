import { sql, type Generated, type Kysely, type Migration } from 'kysely'

/** The small schema fastkit's own tests run against. */
export interface TestDB {
  items: {
    id: Generated<string>
    name: string
    qty: Generated<number>
    owner: string | null
    createdAt: Generated<Date>
  }
  notes: {
    id: Generated<string>
    itemId: string
    body: string
  }
}

export const testMigrations: Record<string, Migration> = {
  '0001_items': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('items')
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('qty', 'integer', (c) => c.notNull().defaultTo(0).check(sql`qty >= 0`))
        .addColumn('owner', 'text')
        .addColumn('createdAt', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute()
      await db.schema.createIndex('items_created_at_id').on('items').columns(['createdAt', 'id']).execute()
      await db.schema
        .createTable('notes')
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('itemId', 'uuid', (c) => c.notNull().references('items.id').onDelete('cascade'))
        .addColumn('body', 'text', (c) => c.notNull())
        .execute()
    },
  },
}
