import Foundation
import HubCore
import HubStore
import HubTesting
import Testing

@testable import HubEngine

/// Figures that get-metrics, get-status and monitor-pool report, checked against what was done.
@Suite struct MeasuredFiguresTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func claim(_ agent: String) async -> String {
        let r = await t.run(nil, "claim-task", "{\"agent_id\": \"\(agent)\"}")
        return r.result["tasks"]?.arrayValue?.first?["lease_id"]?.stringValue ?? ""
    }

    func metrics(_ workflowID: String? = nil) async -> JSONValue? {
        await t.run(workflowID, "get-metrics").result["event_system_performance"]
    }

    /// Three tasks; the agent fails the first attempt of `a` (after 25 seconds), then completes
    /// `a` in 5 seconds, `b` in 10 and `c` in 15 (each within a heartbeat interval).
    func runThreeTasksWithOneFailedAttempt() async {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}, {"task_id": "c"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        var lease = await claim("ag")
        t.clock.advance(by: .seconds(25))
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\", \"retryable\": true}")
        for seconds in [5, 10, 15] {
            lease = await claim("ag")
            t.clock.advance(by: .seconds(Int64(seconds)))
            #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        }
    }

    /// The mean is over completed tasks' execution times: the failed attempt's 25 seconds are
    /// not part of any completed task.
    @Test func averageTaskCompletionIsTheMeanOfCompletedTasks() async {
        await runThreeTasksWithOneFailedAttempt()
        #expect(await metrics()?["agent_performance"]?["average_task_completion"] == "10s")
        #expect(await metrics("w1")?["agent_performance"]?["average_task_completion"] == "10s")
    }

    /// An agent found silent by a sweep that came long after (no server, no command for an
    /// hour) was charged the whole hour for its attempt: its task times, and through them its
    /// degradation and wall-time spend, depended on when someone next ran a command. The run
    /// ends with its lease (3 heartbeat intervals of 30 s); a timed-out one at its timeout.
    @Test func aLateSweepChargesARunUntilItsLeaseEndsNotUntilTheSweep() async {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b", "timeout": "10s"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        _ = await claim("ag")
        t.clock.advance(by: .hours(1))
        await t.run(nil, "register-agent", #"{"agent_id": "other", "max_concurrent_tasks": 2}"#)
        let record = { (id: String) async -> JSONValue? in
            await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?[id]
        }
        let silent = await record("ag")
        #expect(silent?["average_task_time"] == "1m 30s", "\(String(describing: silent))")
        // A timeout ends the run at its deadline, however late the sweep.
        await t.run(nil, "heartbeat", #"{"agent_id": "other"}"#)
        let taken = await t.claim("other", max: 2).compactMap { $0["task_id"]?.stringValue }
        #expect(taken.contains("b"), "\(taken)")
        t.clock.advance(by: .seconds(60))
        await t.run(nil, "heartbeat", #"{"agent_id": "other"}"#)
        let other = await record("other")
        #expect(other?["tasks_failed"] == 1, "\(String(describing: other))")
        #expect(other?["average_task_time"] == "10s", "\(String(describing: other))")
    }

    /// success_rate is a percent with one decimal over attempts (3 completed, 1 failed), in both
    /// scopes, as monitor-pool shows it.
    @Test func successRateIsAPercentOverAttemptsInBothScopes() async {
        await runThreeTasksWithOneFailedAttempt()
        #expect(await metrics()?["agent_performance"]?["success_rate"] == .double(75))
        #expect(await metrics("w1")?["agent_performance"]?["success_rate"] == .double(75))
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]
        #expect(pool?["performance_metrics"]?["ag"]?["success_rate"] == .double(75))
    }

    /// A workflow's figures counted only reported failures: a run that timed out (or whose agent
    /// went silent) was a failure in monitor-pool and hub-wide, not in the workflow's scope, and
    /// its agent was not among the workflow's once its task had gone back to the queue.
    @Test func aTimedOutRunIsAFailedAttemptInTheWorkflowsFiguresToo() async {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "timeout": "2s"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "slow"}"#)
        _ = await claim("slow")
        t.clock.advance(by: .seconds(3))
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(await claim("ag"))\"}").succeeded)
        let hub = await metrics()?["agent_performance"]
        let own = await metrics("w1")?["agent_performance"]
        #expect(hub?["tasks_failed"] == 1 && hub?["tasks_completed"] == 1, "\(String(describing: hub))")
        #expect(own?["tasks_failed"] == 1 && own?["tasks_completed"] == 1, "\(String(describing: own))")
        #expect(own?["success_rate"] == .double(50))
        #expect(own?["agents"] == 2, "the agent whose run timed out ran one of its attempts")
    }

    /// get-status's average was over every task with a time, the last attempt of a failed or
    /// waiting task among them; and a retry counted only once its task was claimed again.
    @Test func workflowMetricsAverageCompletedTasksAndCountRetriesWhenScheduled() async {
        await runThreeTasksWithOneFailedAttempt()
        let done = await t.run("w1", "get-status", #"{"include_metrics": true}"#).result["workflow_state"]?["metrics"]
        #expect(done?["average_task_time"] == "10s", "\(String(describing: done))")
        #expect(done?["retries"] == 1)
        await t.run("w2", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "x"}, {"task_id": "y"}]}]}"#)
        await t.run("w2", "start")
        let x = await t.run(nil, "claim-task", #"{"agent_id": "ag", "workflow_id": "w2"}"#)
        t.clock.advance(by: .seconds(4))
        let lease = x.result["tasks"]?.arrayValue?.first?["lease_id"]?.stringValue ?? ""
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\", \"retryable\": true}")
        let waiting = await t.run("w2", "get-status", #"{"include_metrics": true}"#).result["workflow_state"]?[
            "metrics"]
        #expect(waiting?["average_task_time"] == .null, "no task has completed: \(String(describing: waiting))")
        #expect(waiting?["retries"] == 1, "the failed task waits for its retry")
    }

    /// One decimal, as monitor-pool's: one completed of three attempts is 33.3.
    @Test func successRateHasOneDecimal() async {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "max_retries": 5}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        for _ in 0..<2 {
            await t.run(nil, "fail-task", "{\"lease_id\": \"\(await claim("ag"))\", \"retryable\": true}")
        }
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(await claim("ag"))\"}")
        #expect(await metrics()?["agent_performance"]?["success_rate"] == .double(33.3))
        #expect(await metrics("w1")?["agent_performance"]?["success_rate"] == .double(33.3))
        // The counts beside it are attempts too, in both scopes, so they add up to the rate.
        for scope in [nil, "w1"] {
            let figures = await metrics(scope)?["agent_performance"]
            #expect(figures?["tasks_completed"] == 1 && figures?["tasks_failed"] == 2, "\(String(describing: figures))")
        }
    }

    /// The store's size includes its write-ahead log, which outgrows the database when the
    /// same pages are written over and over.
    @Test func storageConsumptionIncludesTheWriteAheadLog() async throws {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        for _ in 0..<200 { await t.run("w1", "publish-event", #"{"event_type": "note"}"#) }
        let base = t.directory.file("state/hub.sqlite")
        func size(_ path: String) -> Int64 {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        let wal = size(base + "-wal")
        #expect(wal > 0)
        let reported = try #require(await metrics()?["system_health"]?["storage_consumption_bytes"]?.intValue)
        #expect(reported >= size(base) + wal)
    }

    /// An agent's cost is rounded as the workflow's is, without float noise.
    @Test func agentCostIsRoundedLikeTheWorkflows() async {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        for cost in ["0.05", "0.01"] {
            let lease = await claim("ag")
            await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"usage\": {\"cost\": \(cost)}}")
        }
        let state = await t.run("w1", "get-status", #"{"agent_details": true}"#).result["workflow_state"]
        #expect(state?["spend"]?["cost"] == .double(0.06))
        #expect(state?["agent_details"]?["ag"]?["spend"]?["cost"] == .double(0.06))
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]
        #expect(pool?["performance_metrics"]?["ag"]?["spend"]?["cost"] == .double(0.06))
    }

    /// A subscription to a rare pattern has pending only the events it matches, as get-events
    /// hands them out, however many other events follow its cursor.
    @Test func pendingCountsOnlyTheEventsASubscriptionMatches() async {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.rare"], "callback": "r", "start_from": "all"}"#)
        for n in 0..<30 {
            await t.run("w1", "publish-event", n % 10 == 0 ? #"{"event_type": "rare"}"# : #"{"event_type": "note"}"#)
        }
        let figures = await metrics()
        let pulled = await t.run(nil, "get-events", #"{"subscription": "r"}"#).result["count"]
        #expect(pulled == 3)
        #expect(figures?["filtering_optimization"]?["per_subscription"]?.arrayValue?.first?["pending"] == 3)
        #expect(figures?["async_processing_performance"]?["event_queue_depth"] == 3)
        #expect(figures?["system_health"]?["event_queue_depth"] == 3)
    }

    /// Past the examine limit a subscription's pending is not guessed: it and the total are
    /// null, while a subscription near the end of the log is still counted.
    @Test func pendingPastTheExamineLimitIsNull() async throws {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "far", "start_from": "all"}"#)
        for _ in 0..<10 { await t.run("w1", "publish-event", #"{"event_type": "note"}"#) }
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "near", "start_from": "new"}"#)
        for _ in 0..<2 { await t.run("w1", "publish-event", #"{"event_type": "note"}"#) }
        let counts = try await t.hub.store.read { tx -> [String: Int?] in
            let subscriptions = try tx.subscriptions()
            let counts = try SubscriptionScan.pendingCounts(tx, subscriptions, examineLimit: 5)
            return Dictionary(uniqueKeysWithValues: zip(subscriptions.map(\.callback), counts))
        }
        #expect(counts["far"] == .some(nil))
        #expect(counts["near"] == 2)
    }

    /// Events a pull hands out count as delivered whether or not it acknowledges them, once
    /// each however often they are read before the acknowledgement.
    @Test func pulledEventsCountAsDeliveredOnce() async {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "p", "start_from": "all"}"#)
        for _ in 0..<3 { await t.run("w1", "publish-event", #"{"event_type": "note"}"#) }
        let first = await t.run(nil, "get-events", #"{"subscription": "p"}"#)
        await t.run(nil, "get-events", #"{"subscription": "p"}"#)
        let last = first.result["last_sequence"]?.intValue ?? 0
        await t.run(nil, "ack-events", "{\"subscription\": \"p\", \"up_to_sequence\": \(last)}")
        await t.run("w1", "publish-event", #"{"event_type": "note"}"#)
        await t.run(nil, "get-events", #"{"subscription": "p", "ack": true}"#)
        let row = await metrics()?["filtering_optimization"]?["per_subscription"]?.arrayValue?.first
        #expect(row?["delivered"] == 4)
        #expect(row?["acked"] == 4)
    }

    /// A subscription read without acknowledging showed examined 0 beside delivered 2: the
    /// other counters moved only at an acknowledgement. They move at the first read now,
    /// once each, and a replay does not count the same events again.
    @Test func examinedAndFilteredCountAtTheFirstReadOnce() async {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        await t.run(
            nil, "subscribe-event",
            #"{"patterns": ["*.pq"], "filters": {"severity": "error"}, "callback": "n1", "start_from": "new"}"#)
        for severity in ["info", "error", "info", "error"] {
            await t.run("w1", "publish-event", "{\"event_type\": \"pq\", \"severity\": \"\(severity)\"}")
        }
        func row() async -> JSONValue? {
            await metrics()?["filtering_optimization"]?["per_subscription"]?.arrayValue?.first
        }
        await t.run(nil, "get-events", #"{"subscription": "n1"}"#)
        let read = await row()
        #expect(read?["examined"] == 4 && read?["matched"] == 4, "\(String(describing: read))")
        #expect(read?["filtered"] == 2 && read?["delivered"] == 2, "\(String(describing: read))")
        await t.run(nil, "get-events", #"{"subscription": "n1", "ack": true}"#)
        await t.run(nil, "replay-events", #"{"subscription": "n1", "from_sequence": 1}"#)
        await t.run(nil, "get-events", #"{"subscription": "n1", "ack": true}"#)
        let after = await row()
        #expect(after?["examined"] == 4 && after?["filtered"] == 2, "\(String(describing: after))")
    }

    /// A pull narrowed by its own filters counts what it hands out up to the first event of the
    /// subscription it leaves out; a later pull counts the rest, none twice.
    @Test func narrowedPullsCountEachEventOnce() async {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        await t.run(nil, "subscribe-event", ##"{"patterns": ["#"], "callback": "n", "start_from": "new"}"##)
        for type in ["a", "b", "a"] { await t.run("w1", "publish-event", "{\"event_type\": \"\(type)\"}") }
        await t.run(nil, "get-events", #"{"subscription": "n", "event_types": ["a"]}"#)
        func delivered() async -> JSONValue? {
            await metrics()?["filtering_optimization"]?["per_subscription"]?.arrayValue?.first?["delivered"]
        }
        #expect(await delivered() == 1)
        await t.run(nil, "get-events", #"{"subscription": "n"}"#)
        #expect(await delivered() == 3)
        await t.run(nil, "get-events", #"{"subscription": "n", "ack": true}"#)
        #expect(await delivered() == 3)
    }
}
