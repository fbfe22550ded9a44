import GRDB

/// Reads a row's columns by position, in the order its SELECT lists them.
///
/// A lookup by name lowercases the name and hashes it on each call (GRDB compares column
/// names case-insensitively); the hot rows (tasks, agents, leases, workflows, events) are
/// read many times per operation, so their queries name their columns and are read in order.
struct ColumnReader {
    private let row: Row
    private var index = 0

    init(_ row: Row) { self.row = row }

    mutating func next<T: DatabaseValueConvertible & StatementColumnConvertible>() -> T {
        defer { index += 1 }
        return row[index]
    }

    mutating func optional<T: DatabaseValueConvertible & StatementColumnConvertible>() -> T? {
        defer { index += 1 }
        return row[index]
    }

    /// A list of column names for a SELECT, each prefixed with `table.` when given.
    static func list(_ names: [String], table: String? = nil) -> String {
        names.map { name in table.map { "\($0).\(name)" } ?? name }.joined(separator: ", ")
    }
}
