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
        """
    ]
}
