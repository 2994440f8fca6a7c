import { describe, expect, test } from 'vitest'
import { UnitOfWork } from '../src/index.js'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'

const isTxControl = (sql: string) => /^(begin|commit|rollback|start transaction|savepoint|release)/i.test(sql.trim())

describe.each(dialectsUnderTest())('UnitOfWork on %s', (kind) => {
  const t = useTestDatabase(kind)

  test('a unit that reads once sends exactly one statement, without BEGIN/COMMIT', async () => {
    await t.db.insertInto('items').values({ name: 'a' }).execute()
    t.statements.length = 0
    const rows = await UnitOfWork.run(t.db, (uow) => uow.db.selectFrom('items').selectAll().execute())
    expect(rows).toHaveLength(1)
    expect(t.statements).toHaveLength(1)
    expect(t.statements[0]).toMatch(/^select/)
  })

  test('the first write begins the transaction; commit ends it', async () => {
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.selectFrom('items').selectAll().execute()
      expect(uow.inTransaction).toBe(false)
      await uow.db.insertInto('items').values({ name: 'b' }).execute()
      expect(uow.inTransaction).toBe(true)
    })
    expect(t.statements.map((s) => s.split(' ')[0]!.toLowerCase())).toEqual(['select', 'begin', 'insert', 'commit'])
  })

  test('rolls back both writes when the second step throws', async () => {
    await expect(
      UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'one' }).execute()
        await uow.db.insertInto('items').values({ name: 'two' }).execute()
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await t.db.selectFrom('items').selectAll().execute()).toEqual([])
  })

  test('reads after a write see the write (same transaction)', async () => {
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.insertInto('items').values({ name: 'mine' }).execute()
      const seen = await uow.db.selectFrom('items').select('name').execute()
      expect(seen).toEqual([{ name: 'mine' }])
      if (kind === 'postgres') {
        // (PGlite has one session, held by this transaction: nobody else can look until it ends.)
        const outside = await t.db.selectFrom('items').select('name').execute()
        expect(outside).toEqual([])
      }
    })
  })

  test('a failed nested unit rolls back only its own writes', async () => {
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.insertInto('items').values({ name: 'outer' }).execute()
      await expect(
        uow.nested(async () => {
          await uow.db.insertInto('items').values({ name: 'inner' }).execute()
          throw new Error('inner failed')
        }),
      ).rejects.toThrow('inner failed')
      await uow.nested(async () => {
        await uow.db.insertInto('items').values({ name: 'inner-ok' }).execute()
      })
    })
    const names = (await t.db.selectFrom('items').select('name').orderBy('name').execute()).map((r) => r.name)
    expect(names).toEqual(['inner-ok', 'outer'])
  })

  test('a database error inside a nested unit leaves the outer transaction usable', async () => {
    await t.db.insertInto('items').values({ name: 'taken' }).execute()
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.insertInto('items').values({ name: 'first' }).execute()
      await expect(uow.nested(() => uow.db.insertInto('items').values({ name: 'taken' }).execute())).rejects.toMatchObject({
        code: '23505',
      })
      await uow.db.insertInto('items').values({ name: 'after' }).execute()
    })
    const names = (await t.db.selectFrom('items').select('name').orderBy('name').execute()).map((r) => r.name)
    expect(names).toEqual(['after', 'first', 'taken'])
  })

  test('after-commit callbacks run after the commit, never after a rollback', async () => {
    const calls: string[] = []
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.insertInto('items').values({ name: 'x' }).execute()
      uow.afterCommit(async () => {
        // the row is visible to others: the commit has happened
        const rows = await t.db.selectFrom('items').select('name').execute()
        calls.push(`committed:${rows.length}`)
      })
    })
    await expect(
      UnitOfWork.run(t.db, async (uow) => {
        uow.afterCommit(() => calls.push('should-not-run'))
        await uow.db.insertInto('items').values({ name: 'y' }).execute()
        throw new Error('rollback')
      }),
    ).rejects.toThrow()
    expect(calls).toEqual(['committed:1'])
  })

  test('callbacks of a rolled-back nested unit are dropped, those of a released one kept', async () => {
    const calls: string[] = []
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.nested(async () => uow.afterCommit(() => calls.push('kept'))).catch(() => {})
      await uow
        .nested(async () => {
          uow.afterCommit(() => calls.push('dropped'))
          throw new Error('no')
        })
        .catch(() => {})
    })
    expect(calls).toEqual(['kept'])
  })

  test('a failing after-commit callback is reported and does not undo the commit', async () => {
    const reported: unknown[] = []
    const result = await UnitOfWork.run(
      t.db,
      async (uow) => {
        await uow.db.insertInto('items').values({ name: 'kept' }).execute()
        uow.afterCommit(() => {
          throw new Error('callback broke')
        })
        return 'ok'
      },
      { onCallbackError: (e) => reported.push(e) },
    )
    expect(result).toBe('ok')
    expect(reported).toHaveLength(1)
    expect(await t.db.selectFrom('items').select('name').execute()).toEqual([{ name: 'kept' }])
  })

  test('before-commit callbacks run inside the transaction, in registration order, just before COMMIT', async () => {
    const calls: string[] = []
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.insertInto('items').values({ name: 'x' }).execute()
      uow.afterCommit(() => calls.push('after'))
      uow.beforeCommit(async () => {
        // Inside the transaction: its statement sees the unit's own uncommitted row.
        const rows = await uow.db.selectFrom('items').select('name').execute()
        calls.push(`first:${rows.map((r) => r.name).join()}`)
        uow.beforeCommit(() => calls.push('registered-while-running'))
      })
      uow.beforeCommit(async () => {
        await uow.db.insertInto('items').values({ name: 'from-callback' }).execute()
        calls.push('second')
      })
      calls.push('body-done')
    })
    expect(calls).toEqual(['body-done', 'first:x', 'second', 'registered-while-running', 'after'])
    expect(t.statements.map((s) => s.split(' ')[0]!.toLowerCase())).toEqual(['begin', 'insert', 'select', 'insert', 'commit'])
    expect((await t.db.selectFrom('items').select('name').orderBy('name').execute()).map((r) => r.name)).toEqual(['from-callback', 'x'])
  })

  test('a failing before-commit callback rolls the unit back and the commit rejects with its error', async () => {
    const calls: string[] = []
    await expect(
      UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name: 'lost' }).execute()
        uow.afterCommit(() => calls.push('after'))
        uow.beforeCommit(async () => {
          await uow.db.insertInto('items').values({ name: 'lost too' }).execute()
          throw new Error('before-commit broke')
        })
        uow.beforeCommit(() => calls.push('never reached'))
      }),
    ).rejects.toThrow('before-commit broke')
    expect(calls).toEqual([])
    expect(t.statements.filter(isTxControl).map((s) => s.split(' ')[0]!.toLowerCase())).toEqual(['begin', 'rollback'])
    expect(await t.db.selectFrom('items').selectAll().execute()).toEqual([])
  })

  test('before-commit callbacks of a rolled-back nested unit are dropped, those of a released one kept; a rollback drops all', async () => {
    const calls: string[] = []
    await UnitOfWork.run(t.db, async (uow) => {
      uow.beforeCommit(() => calls.push('outer'))
      await uow.nested(async () => uow.beforeCommit(() => calls.push('kept')))
      await uow
        .nested(async () => {
          uow.beforeCommit(() => calls.push('dropped'))
          throw new Error('no')
        })
        .catch(() => {})
    })
    expect(calls).toEqual(['outer', 'kept'])
    await expect(
      UnitOfWork.run(t.db, async (uow) => {
        uow.beforeCommit(() => calls.push('rolled back'))
        await uow.db.insertInto('items').values({ name: 'y' }).execute()
        throw new Error('rollback')
      }),
    ).rejects.toThrow('rollback')
    expect(calls).toEqual(['outer', 'kept'])
  })

  test('a unit that never began a transaction runs its before-commit callbacks on the pool, then commits nothing', async () => {
    const seen: number[] = []
    await UnitOfWork.run(t.db, async (uow) => {
      await uow.db.selectFrom('items').selectAll().execute()
      uow.beforeCommit(async () => {
        seen.push((await uow.db.selectFrom('items').selectAll().execute()).length)
      })
    })
    expect(seen).toEqual([0])
    expect(t.statements.filter(isTxControl)).toEqual([])
    expect(t.statements).toHaveLength(2)
  })

  test('a stricter isolation level begins the transaction on the first read', async () => {
    const level = await UnitOfWork.run(
      t.db,
      async (uow) => {
        const row = await uow.db
          .selectNoFrom((eb) => eb.fn<string>('current_setting', [eb.val('transaction_isolation')]).as('level'))
          .executeTakeFirstOrThrow()
        expect(uow.inTransaction).toBe(true)
        return row.level
      },
      { isolationLevel: 'serializable' },
    )
    expect(level).toBe('serializable')
  })

  test('a read-only unit refuses writes', async () => {
    await expect(
      UnitOfWork.run(t.db, (uow) => uow.db.insertInto('items').values({ name: 'nope' }).execute(), { readOnly: true }),
    ).rejects.toMatchObject({ code: '25006' })
    expect(await t.db.selectFrom('items').selectAll().execute()).toEqual([])
  })

  test('commitIfIdle commits at once only a unit with nothing to commit', async () => {
    const reader = new UnitOfWork(t.db)
    await reader.db.selectFrom('items').selectAll().execute()
    expect(reader.commitIfIdle()).toBe(true)
    expect(reader.state).toBe('committed')

    const writer = new UnitOfWork(t.db)
    await writer.db.insertInto('items').values({ name: 'kept' }).execute()
    expect(writer.commitIfIdle()).toBe(false)
    expect(writer.state).toBe('open')
    await writer.commit()

    let ran = 0
    const withCallback = new UnitOfWork(t.db)
    withCallback.afterCommit(() => ran++)
    expect(withCallback.commitIfIdle()).toBe(false)
    await withCallback.commit()
    expect(ran).toBe(1)

    const withBefore = new UnitOfWork(t.db)
    withBefore.beforeCommit(() => ran++)
    expect(withBefore.commitIfIdle()).toBe(false)
    await withBefore.commit()
    expect(ran).toBe(2)
    expect((await t.db.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['kept'])
  })

  test('a unit refuses statements after it has finished', async () => {
    const uow = new UnitOfWork(t.db)
    await uow.commit()
    await expect(uow.db.selectFrom('items').selectAll().execute()).rejects.toThrow(/already committed/)
  })

  test('singleWrite: the one write goes alone, without BEGIN/COMMIT, and is stored; reads and after-commit callbacks as usual', async () => {
    await t.db.insertInto('items').values({ name: 'before' }).execute()
    t.statements.length = 0
    const calls: string[] = []
    const uow = new UnitOfWork(t.db, { singleWrite: true })
    expect(uow.singleWrite).toBe(true)
    expect(await uow.db.selectFrom('items').select('name').execute()).toEqual([{ name: 'before' }])
    const [row] = await uow.db.insertInto('items').values({ name: 'single' }).returning('name').execute()
    expect(row).toEqual({ name: 'single' })
    uow.afterCommit(() => calls.push('after'))
    // Committed as it ran: another connection (on PGlite, the next statement) sees it before commit().
    expect((await t.db.selectFrom('items').select('name').orderBy('name').execute()).map((r) => r.name)).toEqual(['before', 'single'])
    expect(calls).toEqual([])
    await uow.commit()
    expect(calls).toEqual(['after'])
    expect(t.statements.filter(isTxControl)).toEqual([])
    expect(uow.inTransaction).toBe(false)
  })

  test('singleWrite refuses a second write before sending it (the first stays stored), nested(), and options that need a transaction', async () => {
    const uow = new UnitOfWork(t.db, { singleWrite: true })
    await uow.db.insertInto('items').values({ name: 'first' }).execute()
    t.statements.length = 0
    await expect(uow.db.insertInto('items').values({ name: 'second' }).execute()).rejects.toThrow(/singleWrite/)
    await expect(uow.db.updateTable('items').set({ qty: 1 }).execute()).rejects.toThrow(/singleWrite/)
    expect(t.statements).toEqual([])
    await expect(uow.nested(async () => {})).rejects.toThrow(/nested/)
    // A second write queued for the commit is refused there, and nothing more is stored.
    uow.beforeCommit(() => uow.sendWithCommit(t.db.insertInto('items').values({ name: 'queued' })))
    await expect(uow.commit()).rejects.toThrow(/singleWrite/)
    expect((await t.db.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['first'])
    for (const options of [{ readOnly: true }, { isolationLevel: 'serializable' as const }, { statementTimeoutMs: 1_000 }]) {
      expect(() => new UnitOfWork(t.db, { singleWrite: true, ...options })).toThrow(TypeError)
    }
  })

  test('two concurrent units never see each other’s uncommitted writes', async () => {
    // On PostgreSQL the two overlap; on PGlite (one session) the second waits for the first.
    const flow = (name: string, fail: boolean) =>
      UnitOfWork.run(t.db, async (uow) => {
        await uow.db.insertInto('items').values({ name }).execute()
        await new Promise((r) => setTimeout(r, 30))
        const seen = (await uow.db.selectFrom('items').select('name').execute()).map((r) => r.name)
        if (fail) throw Object.assign(new Error('rolled back'), { seen })
        return seen
      })
    const [a, b] = await Promise.allSettled([flow('from-a', true), flow('from-b', false)])
    expect(a.status === 'rejected' && (a.reason as { seen: string[] }).seen).toEqual(['from-a'])
    expect(b.status === 'fulfilled' && b.value).toEqual(['from-b'])
    expect(await t.db.selectFrom('items').select('name').execute()).toEqual([{ name: 'from-b' }])
  })
})
