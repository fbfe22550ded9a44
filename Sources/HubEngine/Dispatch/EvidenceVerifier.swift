import Foundation
import HubCore

/// Checks the evidence a task requires against what `complete-task` supplied and the
/// workspace as it is (§16): an agent saying "done" is not enough.
struct EvidenceVerifier {
    let workspace: String
    let taskID: String
    /// Longest its check_command may run (the configuration's `check_timeout`).
    let checkLimit: HubDuration

    /// Bytes of a check command's output kept.
    static let outputTail = 2048

    /// Whether `complete-task`'s evidence supplies anything to check.
    static func suppliesAny(_ supplied: JSONValue?) -> Bool {
        supplied?["commit"]?.stringValue != nil || !(supplied?["files"]?.objectValue?.isEmpty ?? true)
    }

    /// The verified evidence, or `EVIDENCE_MISSING` / `EVIDENCE_REJECTED` naming what failed.
    /// What is supplied beyond the requirement is checked too (§17: evidence that fails its
    /// check is rejected, not dropped): files named with a checksum must exist inside the
    /// workspace and match it, a commit must exist.
    func verify(_ requirement: EvidenceRequirement, supplied: JSONValue?) async throws -> JSONValue {
        var record: JSONValue = .emptyObject
        let extra = (supplied?["files"]?.objectValue?.keys).map { Array($0).sorted() } ?? []
        if !requirement.files.isEmpty || !extra.isEmpty {
            record["files"] = .array(try files(required: requirement.files, supplied: supplied?["files"], extra: extra))
        }
        if requirement.commit || supplied?["commit"]?.stringValue != nil {
            guard let commit = supplied?["commit"]?.stringValue else {
                throw missing("a git commit id (evidence.commit)", field: "evidence.commit")
            }
            guard commit.count >= 4, commit.count <= 64, commit.allSatisfy(\.isHexDigit) else {
                throw rejected("evidence.commit \"\(commit.prefix(64))\" is not a commit id", field: "evidence.commit")
            }
            let check = await git(["cat-file", "-e", "\(commit)^{commit}"])
            guard check.status == 0 else { throw await unverified(commit, check) }
            record["commit"] = .string(commit)
        }
        if let command = requirement.checkCommand {
            let (check, timedOut) = await ChildProcess.check(
                command, directory: workspace, tailBytes: Self.outputTail, limit: .milliseconds(checkLimit.milliseconds)
            )
            guard check.status == 0 else {
                throw HubError(
                    .evidenceRejected,
                    timedOut
                        ? "Task \(taskID): the check command did not finish within \(checkLimit) (check_timeout) and was stopped"
                        : "Task \(taskID): the check command exited with status \(check.status)",
                    details: "The task stays running; fix the work and complete it again.",
                    context: [
                        "field": "check_command", "exit_code": .int(Int64(check.status)),
                        "output_tail": .string(check.tail),
                    ],
                    suggestions: ["Run the check yourself in \(workspace): \(command.prefix(200))"])
            }
            record["check"] = ["command": .string(command), "exit_code": 0, "output_tail": .string(check.tail)]
        }
        return record
    }

    /// One file to check: where it is, as the record names it, and the SHA-256 values claimed for it.
    private struct FileCheck {
        var full: String
        var path: String
        var required: Bool
        var claims: [String] = []
    }

    /// Checks the required files, then those supplied beyond them (in name order). Paths follow
    /// the rule of task files (``WorkspacePath/resolved(_:in:)``): a supplied `./out.txt` is the
    /// required `out.txt`, and the record names each file relative to the workspace.
    private func files(required: [String], supplied: JSONValue?, extra: [String]) throws -> [JSONValue] {
        let root = WorkTask.fileKey(".", workspace: workspace)
        var checks: [FileCheck] = []
        for (path, isRequired) in required.map({ ($0, true) }) + extra.map({ ($0, false) }) {
            guard let full = WorkspacePath.resolved(path, in: workspace) else {
                throw rejected("evidence file \(path) lies outside the workspace", field: "evidence.files")
            }
            let claim = isRequired ? nil : supplied?[path]?.stringValue
            // By bytes: names that differ only in Unicode normalization are two files.
            if let n = checks.firstIndex(where: { PathKey($0.full) == PathKey(full) }) {
                if let claim { checks[n].claims.append(claim) }
                continue
            }
            let relative = String(full.dropFirst(root == "/" ? 1 : root.count + 1))
            checks.append(FileCheck(full: full, path: relative, required: isRequired, claims: claim.map { [$0] } ?? []))
        }
        return try checks.map { try file($0, root: root) }
    }

    private func file(_ check: FileCheck, root: String) throws -> JSONValue {
        let (full, path) = (check.full, check.path)
        let sha: String
        let size: Int64
        switch WorkspaceFileDigest.digest(of: full, root: root) {
        case .missing where check.required:
            throw missing("the file \(path)", field: "evidence.files")
        case .missing:
            throw rejected("evidence file \(path) does not exist", field: "evidence.files")
        case .refused(let why):
            throw rejected("evidence file \(path) \(why)", field: "evidence.files")
        case .file(let digest, let bytes):
            (sha, size) = (digest, bytes)
        }
        for claimed in check.claims where claimed.lowercased() != sha {
            throw rejected("the SHA-256 of \(path) is \(sha), not \(claimed.prefix(64))", field: "evidence.files")
        }
        return ["path": .string(path), "sha256": .string(sha), "size": .int(size)]
    }

    /// Runs git in the workspace.
    private func git(_ arguments: [String]) async -> ChildProcess.Outcome {
        await ChildProcess.run(
            ["git", "-C", workspace] + arguments, environment: ProcessInfo.processInfo.environment,
            directory: workspace, tailBytes: 512)
    }

    /// Why `commit` could not be verified, with git's own words: a workspace git refuses (not
    /// a repository, or one it deems unsafe: "dubious ownership") or a host without git was
    /// reported as an unknown commit, which sent the agent looking for a commit that exists.
    private func unverified(_ commit: String, _ check: ChildProcess.Outcome) async -> HubError {
        var said = Self.gitSays(check.tail)
        let why: String
        if check.status == 127 {
            why = "commit \(commit) could not be checked: git could not be run (\(said))"
        } else {
            let probe = await git(["rev-parse", "--git-dir"])
            if probe.status != 0 {
                said = Self.gitSays(probe.tail)
                why =
                    "commit \(commit) could not be checked: \(workspace) is not a git repository git will use (git: \(said))"
            } else {
                why =
                    "commit \(commit) does not exist in the repository at \(workspace)"
                    + (said.isEmpty ? "" : " (git: \(said))")
            }
        }
        var error = rejected(why, field: "evidence.commit")
        error.context?["git_output"] = .string(said)
        return error
    }

    /// Git's output, trimmed to one line of at most 300 characters.
    static func gitSays(_ output: String) -> String {
        let line = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        return line.count > 300 ? String(line.prefix(297)) + "..." : line
    }

    private func missing(_ what: String, field: String) -> HubError {
        HubError(
            .evidenceMissing, "Task \(taskID) cannot complete without \(what)",
            details: "The task stays running; supply the evidence and complete it again.",
            context: ["field": .string(field)],
            suggestions: ["See the task's evidence requirement with 'get-status'"])
    }

    private func rejected(_ why: String, field: String) -> HubError {
        HubError(
            .evidenceRejected, "Task \(taskID): \(why)",
            details: "The task stays running; fix it and complete it again.",
            context: ["field": .string(field)], suggestions: ["See the task's evidence requirement with 'get-status'"])
    }
}
