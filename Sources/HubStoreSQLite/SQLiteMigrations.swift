import GRDB
import HubStore

/// The SQLite dialect of ``MigrationHistory``: numbered, named, append-only.
enum SQLiteMigrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for step in MigrationHistory.steps {
            let sql = statements[step.number] ?? ""
            migrator.registerMigration(MigrationHistory.identifier(step)) { db in try db.execute(sql: sql) }
        }
        return migrator
    }

    private static let statements: [Int: String] = [
        1: """
        CREATE TABLE workflows (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('created','running','paused','completed','failed','cancelled')),
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            priority TEXT NOT NULL CHECK (priority IN ('high','medium','low')),
            agent_requirements TEXT NOT NULL,
            dependencies TEXT NOT NULL,
            timeout_ms INTEGER NOT NULL CHECK (timeout_ms > 0),
            checkpoint_interval_ms INTEGER NOT NULL CHECK (checkpoint_interval_ms > 0),
            failure_tolerance TEXT NOT NULL CHECK (failure_tolerance IN ('low','medium','high')),
            max_agents INTEGER,
            workspace TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            current_phase INTEGER NOT NULL CHECK (current_phase >= 0),
            total_phases INTEGER NOT NULL CHECK (total_phases >= 0),
            state_version INTEGER NOT NULL CHECK (state_version >= 1),
            active_ms INTEGER NOT NULL CHECK (active_ms >= 0),
            running_since INTEGER,
            deadline_at INTEGER,
            failure_reason TEXT,
            correlation_id TEXT NOT NULL
        );
        CREATE INDEX workflows_listing ON workflows(archived, status, created_at);
        CREATE INDEX workflows_created ON workflows(created_at);
        CREATE INDEX workflows_deadline ON workflows(deadline_at) WHERE deadline_at IS NOT NULL;

        CREATE TABLE phases (
            workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
            phase_id INTEGER NOT NULL CHECK (phase_id >= 1),
            name TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending','running','completed','failed','skipped')),
            started_at INTEGER,
            completed_at INTEGER,
            PRIMARY KEY (workflow_id, phase_id)
        ) WITHOUT ROWID;

        CREATE TABLE tasks (
            workflow_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            phase_id INTEGER NOT NULL,
            description TEXT NOT NULL,
            role TEXT,
            status TEXT NOT NULL CHECK (status IN ('pending','ready','assigned','running','completed','failed','cancelled','skipped')),
            depends_on TEXT NOT NULL,
            files TEXT NOT NULL,
            resources TEXT NOT NULL,
            priority TEXT NOT NULL CHECK (priority IN ('high','medium','low')),
            estimate_ms INTEGER,
            timeout_ms INTEGER,
            max_retries INTEGER NOT NULL CHECK (max_retries >= 0),
            attempts INTEGER NOT NULL CHECK (attempts >= 0),
            risky INTEGER NOT NULL CHECK (risky IN (0, 1)),
            evidence TEXT,
            command TEXT,
            payload TEXT,
            assigned_agent TEXT,
            result TEXT,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            completed_at INTEGER,
            execution_ms INTEGER,
            PRIMARY KEY (workflow_id, task_id),
            FOREIGN KEY (workflow_id, phase_id) REFERENCES phases(workflow_id, phase_id) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX tasks_by_position ON tasks(workflow_id, position);
        CREATE INDEX tasks_by_status ON tasks(status, workflow_id);

        CREATE TABLE events (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            event_type TEXT NOT NULL,
            workflow_id TEXT,
            phase INTEGER NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('info','warning','error','critical')),
            source TEXT NOT NULL,
            timestamp INTEGER NOT NULL,
            data TEXT NOT NULL,
            subject TEXT NOT NULL,
            correlation_id TEXT,
            causation_id TEXT,
            tags TEXT,
            dedup_id TEXT
        );
        CREATE INDEX events_by_workflow ON events(workflow_id, sequence);
        CREATE INDEX events_by_type ON events(event_type, sequence);
        CREATE INDEX events_by_time ON events(timestamp);
        """,
        2: """
        CREATE TABLE agents (
            agent_id TEXT PRIMARY KEY NOT NULL,
            specializations TEXT NOT NULL,
            max_concurrent_tasks INTEGER NOT NULL CHECK (max_concurrent_tasks >= 1),
            preferred_task_types TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('available','busy','unresponsive','offline')),
            registered_at INTEGER NOT NULL,
            last_heartbeat INTEGER NOT NULL,
            current_load INTEGER NOT NULL CHECK (current_load >= 0),
            record TEXT NOT NULL
        );
        CREATE INDEX agents_by_heartbeat ON agents(last_heartbeat) WHERE status IN ('available','busy');

        CREATE TABLE leases (
            lease_id TEXT PRIMARY KEY NOT NULL,
            workflow_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            claimed_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('active','completed','failed','revoked','expired')),
            ended_at INTEGER
        );
        CREATE UNIQUE INDEX leases_one_active_per_task ON leases(workflow_id, task_id) WHERE state = 'active';
        CREATE INDEX leases_active_by_agent ON leases(agent_id) WHERE state = 'active';
        CREATE INDEX leases_active_by_expiry ON leases(expires_at) WHERE state = 'active';

        CREATE TABLE workflow_pools (
            workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
            agent_id TEXT NOT NULL,
            PRIMARY KEY (workflow_id, agent_id)
        ) WITHOUT ROWID;

        CREATE TABLE task_dependencies (
            workflow_id TEXT NOT NULL,
            depends_on TEXT NOT NULL,
            task_id TEXT NOT NULL,
            PRIMARY KEY (workflow_id, depends_on, task_id)
        ) WITHOUT ROWID;
        INSERT INTO task_dependencies (workflow_id, depends_on, task_id)
            SELECT t.workflow_id, d.value, t.task_id FROM tasks t, json_each(t.depends_on) d;

        ALTER TABLE phases ADD COLUMN total_tasks INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE phases ADD COLUMN open_tasks INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE phases ADD COLUMN failed_tasks INTEGER NOT NULL DEFAULT 0;
        UPDATE phases SET
            total_tasks = (SELECT COUNT(*) FROM tasks t WHERE t.workflow_id = phases.workflow_id AND t.phase_id = phases.phase_id),
            open_tasks = (SELECT COUNT(*) FROM tasks t WHERE t.workflow_id = phases.workflow_id AND t.phase_id = phases.phase_id
                          AND t.status IN ('pending','ready','assigned','running')),
            failed_tasks = (SELECT COUNT(*) FROM tasks t WHERE t.workflow_id = phases.workflow_id AND t.phase_id = phases.phase_id
                          AND t.status IN ('failed','cancelled'));

        ALTER TABLE tasks ADD COLUMN critical_path_ms INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN priority_rank INTEGER NOT NULL DEFAULT 2;
        ALTER TABLE tasks ADD COLUMN workflow_priority_rank INTEGER NOT NULL DEFAULT 2;
        ALTER TABLE tasks ADD COLUMN reserved_for TEXT;
        ALTER TABLE tasks ADD COLUMN run_deadline_at INTEGER;
        UPDATE tasks SET priority_rank = CASE priority WHEN 'high' THEN 3 WHEN 'low' THEN 1 ELSE 2 END;
        UPDATE tasks SET workflow_priority_rank = (SELECT CASE w.priority WHEN 'high' THEN 3 WHEN 'low' THEN 1 ELSE 2 END
                                                   FROM workflows w WHERE w.id = tasks.workflow_id);
        CREATE INDEX tasks_claimable ON tasks(
            role, workflow_priority_rank DESC, priority_rank DESC, critical_path_ms DESC, created_at, workflow_id, position)
            WHERE status = 'ready';
        CREATE INDEX tasks_run_deadline ON tasks(run_deadline_at) WHERE run_deadline_at IS NOT NULL;
        CREATE INDEX tasks_by_phase ON tasks(workflow_id, phase_id, status);
        """,
        3: """
        CREATE INDEX tasks_reserved ON tasks(reserved_for) WHERE reserved_for IS NOT NULL AND status = 'ready';
        """,
        4: """
        ALTER TABLE workflows ADD COLUMN budget TEXT;
        ALTER TABLE workflows ADD COLUMN spend TEXT NOT NULL DEFAULT '{"tokens":0,"cost":0.0}';
        ALTER TABLE agents ADD COLUMN budget TEXT;
        ALTER TABLE agents ADD COLUMN spend TEXT NOT NULL DEFAULT '{"tokens":0,"cost":0.0}';
        """,
        5: """
        CREATE TABLE resource_allocations (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id TEXT NOT NULL UNIQUE,
            allocation_id TEXT UNIQUE,
            workflow_id TEXT,
            agent_id TEXT,
            resources TEXT NOT NULL,
            priority TEXT NOT NULL CHECK (priority IN ('high','medium','low')),
            mode TEXT NOT NULL CHECK (mode IN ('exclusive','shared')),
            state TEXT NOT NULL CHECK (state IN ('queued','granted','released','expired','withdrawn')),
            created_at INTEGER NOT NULL,
            deadline INTEGER NOT NULL,
            granted_at INTEGER,
            ended_at INTEGER
        );
        CREATE INDEX allocations_live ON resource_allocations(state, sequence) WHERE state IN ('queued','granted');
        """,
        6: """
        CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY NOT NULL,
            callback TEXT NOT NULL UNIQUE,
            patterns TEXT NOT NULL,
            filter TEXT NOT NULL,
            delivery TEXT NOT NULL CHECK (delivery IN ('realtime','batch','webhook')),
            webhook_url TEXT,
            secret TEXT,
            retry_policy TEXT NOT NULL,
            cursor INTEGER NOT NULL CHECK (cursor >= 0),
            replay_end INTEGER,
            resume_at INTEGER,
            smart_filtering INTEGER NOT NULL,
            adaptive_filtering INTEGER NOT NULL DEFAULT 0,
            optimization_goal TEXT NOT NULL CHECK (optimization_goal IN ('efficiency','latency','completeness')),
            created_at INTEGER NOT NULL,
            counters TEXT NOT NULL
        );

        CREATE TABLE dead_letters (
            subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
            sequence INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            last_error TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (subscription_id, sequence)
        ) WITHOUT ROWID;

        CREATE TABLE hub_settings (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE INDEX events_by_dedup ON events(dedup_id, timestamp) WHERE dedup_id IS NOT NULL;
        CREATE INDEX events_by_cause ON events(causation_id) WHERE causation_id IS NOT NULL;
        ALTER TABLE events ADD COLUMN data_gz BLOB;
        """,
        7: """
        CREATE TABLE checkpoints (
            id TEXT PRIMARY KEY NOT NULL,
            workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            trigger TEXT NOT NULL CHECK (trigger IN
              ('manual','phase_completed','interval','before_risky_operation','agent_failure','task_timeout')),
            created_at INTEGER NOT NULL,
            state_version INTEGER NOT NULL CHECK (state_version >= 1),
            event_sequence INTEGER NOT NULL CHECK (event_sequence >= 0),
            checksum TEXT NOT NULL CHECK (length(checksum) = 64),
            snapshot BLOB NOT NULL,
            file_count INTEGER NOT NULL CHECK (file_count >= 0),
            state_valid INTEGER CHECK (state_valid IN (0, 1))
        );
        CREATE INDEX checkpoints_by_workflow ON checkpoints(workflow_id, created_at);

        CREATE TABLE checkpoint_files (
            checkpoint_id TEXT NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            mode INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            PRIMARY KEY (checkpoint_id, path)
        ) WITHOUT ROWID;
        CREATE INDEX checkpoint_files_by_content ON checkpoint_files(sha256);

        CREATE TABLE checkpoint_contents (
            sha256 TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
            size INTEGER NOT NULL CHECK (size >= 0),
            bytes BLOB NOT NULL
        ) WITHOUT ROWID;
        """,
        // Cost follows the work for file checkpoints (issue 5):
        // - File contents leave the key's b-tree: as a WITHOUT ROWID table each 10 KiB row filled
        //   leaf pages of its own, so checking which of 1,000 hashes are stored read 1,000 pages
        //   (13 ms of a 26 ms checkpoint). Now the check reads the small unique index only.
        // - A checkpoint's file stamps are a set shared by every checkpoint with the same stamps
        //   (its id is their SHA-256), so capturing an unchanged workspace again writes no rows.
        //   Existing manifests become one set each, named by their checkpoint.
        9: """
        CREATE TABLE checkpoint_contents_v9 (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
            size INTEGER NOT NULL CHECK (size >= 0),
            bytes BLOB NOT NULL
        );
        INSERT INTO checkpoint_contents_v9 (sha256, size, bytes) SELECT sha256, size, bytes FROM checkpoint_contents;
        DROP TABLE checkpoint_contents;
        ALTER TABLE checkpoint_contents_v9 RENAME TO checkpoint_contents;

        CREATE TABLE checkpoint_file_sets (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TABLE checkpoint_set_files (
            set_id TEXT NOT NULL REFERENCES checkpoint_file_sets(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            mode INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            PRIMARY KEY (set_id, path)
        ) WITHOUT ROWID;
        CREATE INDEX checkpoint_set_files_by_content ON checkpoint_set_files(sha256);
        ALTER TABLE checkpoints ADD COLUMN file_set TEXT REFERENCES checkpoint_file_sets(id);
        CREATE INDEX checkpoints_by_file_set ON checkpoints(file_set) WHERE file_set IS NOT NULL;
        INSERT INTO checkpoint_file_sets (id) SELECT DISTINCT checkpoint_id FROM checkpoint_files;
        INSERT INTO checkpoint_set_files (set_id, path, sha256, size, mode, mtime_ns, ctime_ns, inode)
          SELECT checkpoint_id, path, sha256, size, mode, mtime_ns, ctime_ns, inode FROM checkpoint_files;
        UPDATE checkpoints SET file_set = id WHERE id IN (SELECT id FROM checkpoint_file_sets);
        DROP TABLE checkpoint_files;
        """,
        8: """
        CREATE TABLE agent_tokens (
            token_hash TEXT PRIMARY KEY NOT NULL,
            agent_id TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX leases_by_agent_workflow ON leases(agent_id, workflow_id);
        """,
        // Events about no workflow (most published events) are never looked up by
        // workflow; leaving them out of the index saves an index entry per event.
        // `workflow_id = ?` implies `IS NOT NULL`, so those lookups still use it.
        10: """
        DROP INDEX events_by_workflow;
        CREATE INDEX events_by_workflow ON events(workflow_id, sequence) WHERE workflow_id IS NOT NULL;
        """,
        // A claim for one workflow: tasks_claimable orders all ready tasks of a role, so
        // SQLite read every one of them and sorted them to find the workflow's first
        // few (0.8 ms with 11,000 ready, growing with them). Within one workflow this
        // index is in the policy's order.
        11: """
        CREATE INDEX tasks_claimable_in_workflow ON tasks(
            workflow_id, role, workflow_priority_rank DESC, priority_rank DESC, critical_path_ms DESC, created_at, position)
            WHERE status = 'ready';
        """,
        // Every claim reads what running tasks hold. Most tasks declare no files and no
        // resources, and the claim read (and parsed) every running task to find that out:
        // its cost grew with the tasks in flight. This index holds only those that hold
        // something; its condition is `SQLiteTransaction.runningHoldsQuery`'s, word for word.
        12: """
        CREATE INDEX tasks_holding ON tasks(status)
            WHERE status IN ('assigned','running') AND (files <> '[]' OR resources <> '{}');
        """,
        // Every claim and completion changes a task's status, and each index that names
        // the status moves the task's entry: tasks_by_status and tasks_by_phase. A phase's
        // tasks are read in order, so tasks_by_phase holds the position instead. Only the
        // overdue-task probe read tasks_by_status (every running task, to compare its
        // deadline); tasks_run_deadline now holds only running tasks, so the probe reads
        // just those past their deadline.
        13: """
        DROP INDEX tasks_by_status;
        DROP INDEX tasks_by_phase;
        CREATE INDEX tasks_by_phase ON tasks(workflow_id, phase_id, position);
        DROP INDEX tasks_run_deadline;
        CREATE INDEX tasks_run_deadline ON tasks(run_deadline_at) WHERE run_deadline_at IS NOT NULL AND status = 'running';
        """,
        // The event that put a task back in the queue, the cause of its next assignment (§16).
        14: """
        ALTER TABLE tasks ADD COLUMN queued_by TEXT;
        """,
        // A replay narrowed to one workflow (§17), as JSON: {"workflow_id", "through_sequence"}.
        15: """
        ALTER TABLE subscriptions ADD COLUMN replay_narrowing TEXT;
        """,
        // Ended leases whose agent may still run the task hold its files and resources until
        // then (or until its heartbeat lets go); only those are indexed.
        16: """
        ALTER TABLE leases ADD COLUMN holds_until INTEGER;
        CREATE INDEX leases_lingering ON leases(holds_until) WHERE holds_until IS NOT NULL;
        """,
        // The runner process that holds the agent id (`register-agent`'s `runner_id`): another
        // runner is refused while the agent is live (§7).
        17: """
        ALTER TABLE agents ADD COLUMN runner_id TEXT;
        """,
        // When `complete` finalized a completed workflow: its next steps no longer ask for it.
        18: """
        ALTER TABLE workflows ADD COLUMN finalized_at INTEGER;
        """,
        // The workspace's git HEAD when a task asking for a commit was first handed out: a
        // retry's runner may take a HEAD as its evidence only when it is another one (§16).
        19: """
        ALTER TABLE tasks ADD COLUMN head_before TEXT;
        """,
        // What complete-task verified of a task's evidence (§16): the task_completed event
        // carried it alone, and event retention removed it.
        20: """
        ALTER TABLE tasks ADD COLUMN verified_evidence TEXT;
        """,
        // When each agent falls silent, by the heartbeat interval it was told (§7): a process
        // with a shorter one (a one-call --set, a server configured otherwise) failed agents that
        // were keeping to theirs. Agents recorded before it (no silent_at until next heard from)
        // are found through the same index, under NULL.
        21: """
        ALTER TABLE agents ADD COLUMN silent_at INTEGER;
        CREATE INDEX agents_by_silence ON agents(silent_at) WHERE status IN ('available','busy');
        DROP INDEX agents_by_heartbeat;
        """,
    ]
}
