import GRDB
import GRDBSQLite

/// Runs one of GRDB's prepared statements through SQLite's C API: values are bound
/// as they come, with no `StatementArguments`, no `DatabaseValue` per value and no
/// array of existentials to build and destroy.
///
/// For the two statements the writer runs most: the event append, where a batch
/// binds 13 values per event (through GRDB's arguments the binding cost about a
/// third of the writer's time in a publishing run, issue 6 (b), docs/PERFORMANCE.md),
/// and the task update, 28 values for every claim and completion. The statement must
/// be one this type alone runs (it does not keep GRDB's record of the arguments), and
/// every parameter must be bound before ``run()``.
struct RawStatement {
    private let statement: Statement
    private let handle: SQLiteStatement
    private let connection: SQLiteConnection
    private var position: CInt = 0

    /// Begins binding `statement` of `db` from its first parameter.
    init(_ statement: Statement, in db: Database) throws {
        self.statement = statement
        handle = statement.sqliteStatement
        guard let connection = db.sqliteConnection else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the connection is closed", sql: statement.sql)
        }
        self.connection = connection
        // A reset statement keeps its bindings; every one is replaced below.
        try check(sqlite3_reset(handle))
    }

    mutating func bind(_ text: String) throws {
        position += 1
        let code = text.withCString { sqlite3_bind_text(handle, position, $0, CInt(text.utf8.count), transient) }
        try check(code)
    }

    mutating func bind(_ text: String?) throws {
        guard let text else { return try bindNull() }
        try bind(text)
    }

    mutating func bind(_ value: Int64) throws {
        position += 1
        try check(sqlite3_bind_int64(handle, position, value))
    }

    mutating func bind(_ value: Int) throws { try bind(Int64(value)) }

    mutating func bind(_ value: Int64?) throws {
        guard let value else { return try bindNull() }
        try bind(value)
    }

    /// As GRDB stores a `Bool`: 1 or 0.
    mutating func bind(_ value: Bool) throws { try bind(Int64(value ? 1 : 0)) }

    mutating func bindNull() throws {
        position += 1
        try check(sqlite3_bind_null(handle, position))
    }

    /// Steps the statement to its end and resets it; a failure (a constraint) throws
    /// SQLite's error, as GRDB would.
    func run() throws {
        let expected = sqlite3_bind_parameter_count(handle)
        guard position == expected else {
            throw DatabaseError(
                resultCode: .SQLITE_RANGE, message: "\(position) values bound of \(expected)", sql: statement.sql)
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let error = self.error(code)
            sqlite3_reset(handle)
            throw error
        }
        try check(sqlite3_reset(handle))
    }

    private func check(_ code: CInt) throws {
        if code != SQLITE_OK { throw error(code) }
    }

    private func error(_ code: CInt) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
            sql: statement.sql)
    }
}

/// SQLite copies the bound text before the bind call returns.
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
