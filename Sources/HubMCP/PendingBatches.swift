/// JSON-RPC batches read and not yet answered (MCP 2025-03-26 has them): for each, the
/// requests whose answers it waits for, by id as canonical JSON, and the answers gathered
/// so far. JSON-RPC answers a batch with one array, once every request in it is answered.
struct PendingBatches {
    private struct Batch {
        var waiting: [String: Int]
        var keys: [String]
        var answers: [String]
    }

    private var batches: [Batch] = []

    /// What became of an answer offered with ``take(_:for:)``.
    enum Taken: Equatable {
        /// No batch waits for its id: it goes out on its own.
        case notBatched
        /// Kept for its batch, which waits for more.
        case held
        /// It completed its batch: the array to write, and the ids it answers.
        case complete(line: String, keys: [String])
    }

    var isEmpty: Bool { batches.isEmpty }

    /// Whether a batch waits for an answer to the request with this id.
    func awaits(_ key: String) -> Bool { batches.contains { $0.waiting[key] != nil } }

    /// Starts waiting for the answers to `keys`, with `answers` (JSON texts) already given.
    mutating func add(keys: [String], answers: [String]) {
        var waiting: [String: Int] = [:]
        for key in keys { waiting[key, default: 0] += 1 }
        batches.append(Batch(waiting: waiting, keys: keys, answers: answers))
    }

    /// Gives `answer` (a response's JSON text) to the oldest batch waiting for `key`.
    mutating func take(_ answer: String, for key: String) -> Taken {
        guard let index = batches.firstIndex(where: { $0.waiting[key] != nil }) else { return .notBatched }
        let count = batches[index].waiting[key] ?? 1
        batches[index].waiting[key] = count > 1 ? count - 1 : nil
        batches[index].answers.append(answer)
        guard batches[index].waiting.isEmpty else { return .held }
        let done = batches.remove(at: index)
        return .complete(line: Self.array(done.answers), keys: done.keys)
    }

    /// JSON texts as one JSON array.
    static func array(_ answers: [String]) -> String { "[" + answers.joined(separator: ",") + "]" }
}
