"""The public API: :class:`Migrator` (async) and :class:`SyncMigrator`, its synchronous twin."""
