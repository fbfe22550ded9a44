import HubCore
import HubEngine
import HubStoreSQLite
import HubTesting
import Testing

/// configure-batching, enable-async-processing, configure-persistence and retention (§10).
@Suite struct EventConfigurationTests {
    let t: TestHub
    init() async throws {
        t = try TestHub()
        await t.run("w1", "create", #"{"phases": ["build"]}"#)
    }

    func publish(_ type: String, severity: String = "info", data: String = "{}") async {
        await t.run(
            "w1", "publish-event", "{\"event_type\": \"\(type)\", \"severity\": \"\(severity)\", \"data\": \(data)}")
    }

    func types() async -> [String] {
        let events = await t.run(nil, "get-events", #"{"limit": 10000}"#).result["events"]?.arrayValue ?? []
        return events.compactMap { $0["event_type"]?.stringValue }
    }

    @Test func batchingIsStoredPerTypeOverTheDefaults() async throws {
        let all = await t.run(nil, "configure-batching", #"{"batch_size": 25, "batch_timeout": "2s"}"#)
        #expect(all.result["batching"]?["default"]?["batch_size"] == 25)
        let some = await t.run(
            nil, "configure-batching",
            #"{"event_types": ["task_ready"], "batch_size": "adaptive", "compression_enabled": true}"#)
        let rule = some.result["batching"]?["event_types"]?["task_ready"]
        #expect(rule?["batch_size"] == "adaptive")
        #expect(rule?["batch_timeout"] == "2s")
        #expect(rule?["compression_enabled"] == true)
        let settings = try await t.hub.store.read { tx in
            BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject)
        }
        #expect(settings.rule(for: "task_ready").batchSize(queueDepth: 40) == 40)
        #expect(settings.rule(for: "task_ready").batchSize(queueDepth: 1) == 5)
        #expect(settings.rule(for: "task_ready").batchSize(queueDepth: 500) == 100)
        #expect(settings.rule(for: "other").batchSize(queueDepth: 500) == 25)
        // Without event_types the change is for all types (§10), those with a rule of their own
        // too; the fields not given stay as each type has them.
        let everyone = await t.run(
            nil, "configure-batching", #"{"deduplication_enabled": true, "batch_timeout": "3s"}"#)
        let own = everyone.result["batching"]?["event_types"]?["task_ready"]
        #expect(own?["deduplication_enabled"] == true, "\(everyone.json)")
        #expect(own?["batch_timeout"] == "3s")
        #expect(own?["batch_size"] == "adaptive")
    }

    /// With a workflow id, configure-batching is that workflow's override of the hub-wide
    /// setting (§17); it changed the hub-wide one.
    @Test func batchingWithAWorkflowIDIsThatWorkflowsOverride() async throws {
        await t.run(nil, "configure-batching", #"{"batch_size": 25}"#)
        let own = await t.run("w1", "configure-batching", #"{"event_types": ["note"], "deduplication_enabled": true}"#)
        #expect(own.succeeded, "\(own.json)")
        #expect(own.result["batching"]?["event_types"]?["note"]?["deduplication_enabled"] == true)
        #expect(own.result["batching"]?["default"]?["batch_size"] == 25)
        let settings = try await t.hub.store.read { tx in
            BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject)
        }
        #expect(settings.rule(for: "note", workflowID: "w1").deduplication)
        #expect(!settings.rule(for: "note", workflowID: "w2").deduplication)
        #expect(!settings.rule(for: "note").deduplication)
        #expect(settings.rule(for: "other", workflowID: "w1").batchSize(queueDepth: 500) == 25)
        // What the workflow did not set follows the hub-wide settings, also when they change later.
        let later = await t.run(nil, "configure-batching", #"{"batch_size": 40}"#)
        #expect(later.succeeded)
        let shown = await t.run("w1", "configure-batching", #"{"compression_enabled": true}"#).result["batching"]
        #expect(shown?["default"]?["batch_size"] == 40)
        #expect(shown?["event_types"]?["note"]?["deduplication_enabled"] == true)
        #expect(shown?["own"]?["default"] == ["compression_enabled": true])
        // A publish that changes batching changes the workflow's own settings when it has them.
        await t.run("w1", "publish-event", #"{"event_type": "note", "enable_batching": false}"#)
        let after = try await t.hub.store.read { tx in
            BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject)
        }
        #expect(!after.rule(for: "note", workflowID: "w1").enabled)
        #expect(after.rule(for: "note").enabled)
    }

    /// A publish's enable_batching and batch_optimization changed the hub-wide settings when the
    /// workflow had none of its own: a workflow's publisher (an agent token may publish, not
    /// configure the hub) rewrote every workflow's batching. And "fixed" replaced a configured
    /// size with the default one.
    @Test func aPublishChangesOnlyItsWorkflowsBatching() async throws {
        await t.run("w2", "create", #"{"phases": ["build"]}"#)
        await t.run(nil, "configure-batching", #"{"event_types": ["note"], "batch_size": 50}"#)
        let published = await t.run(
            "w1", "publish-event", #"{"event_type": "note", "enable_batching": false, "batch_optimization": "fixed"}"#)
        #expect(published.succeeded, "\(published.json)")
        let settings = try await t.hub.store.read { tx in
            BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject)
        }
        #expect(!settings.rule(for: "note", workflowID: "w1").enabled)
        #expect(settings.rule(for: "note", workflowID: "w1").size == .fixed(50))
        #expect(settings.rule(for: "note", workflowID: "w2").enabled)
        #expect(settings.rule(for: "note").enabled)
        // An event about no workflow has no settings of its own to change.
        let hubEvent = await t.run(nil, "publish-event", #"{"event_type": "note", "batch_optimization": "adaptive"}"#)
        #expect(hubEvent.errorCode == "INVALID_PARAMETERS")
        #expect(hubEvent.error?.context?["field"] == "batch_optimization")
        let count = await t.run(nil, "get-events", #"{"event_types": ["note"]}"#).result["events"]?.arrayValue?.count
        #expect(count == 1, "the refused publish stored nothing")
    }

    /// A workflow's own settings can be dropped again (`reset`), for some types or all; it then
    /// follows the hub-wide settings. Before, an override, once set, stayed for good.
    @Test func aWorkflowsOwnSettingsCanBeReset() async throws {
        await t.run("w1", "configure-batching", #"{"event_types": ["note", "memo"], "deduplication_enabled": true}"#)
        await t.run("w1", "configure-batching", #"{"batch_size": 7}"#)
        let some = await t.run("w1", "configure-batching", #"{"event_types": ["note"], "reset": true}"#)
        let left = some.result["batching"]?["own"]
        #expect(left?["default"] == ["batch_size": 7], "\(some.json)")
        #expect(left?["event_types"] == ["memo": ["deduplication_enabled": true]], "\(some.json)")
        let all = await t.run("w1", "configure-batching", #"{"reset": true}"#)
        #expect(all.result["batching"]?["own"] == .emptyObject, "\(all.json)")
        let batching = try await t.hub.store.read { tx in
            BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject)
        }
        #expect(batching.byWorkflow["w1"] == nil)
        #expect(!batching.rule(for: "memo", workflowID: "w1").deduplication)

        await t.run(
            "w1", "configure-persistence", #"{"retention_period": "30d", "replay_capabilities": "acknowledged_only"}"#)
        let replaced = await t.run(
            "w1", "configure-persistence", #"{"reset": true, "persistence_policy": "selective_critical"}"#)
        #expect(replaced.result["persistence"]?["workflows"]?["w1"]?["retention_period"] == "7d", "\(replaced.json)")
        #expect(replaced.result["persistence"]?["workflows"]?["w1"]?["persistence_policy"] == "selective_critical")
        await t.run("w1", "configure-persistence", #"{"reset": true}"#)
        let policy = try await t.hub.store.read { tx in
            PersistencePolicy(
                json: try tx.setting(EventSettingKey.persistence) ?? .emptyObject, defaultRetention: .days(7))
        }
        #expect(policy.byWorkflow["w1"] == nil)
        // Without a workflow there is nothing of one's own to drop: refused, nothing changed.
        for operation in ["configure-batching", "configure-persistence"] {
            let refused = await t.run(nil, operation, #"{"reset": true}"#)
            #expect(refused.errorCode == "INVALID_PARAMETERS")
            #expect(refused.error?.context?["field"] == "reset")
        }
    }

    /// With a workflow id, get-metrics gives that workflow's figures (§17): they were the hub's.
    @Test func metricsWithAWorkflowIDAreThatWorkflows() async throws {
        await t.run("w2", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w2", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first?[
            "lease_id"]
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease?.stringValue ?? "")\"}")
        await t.run("w2", "configure-persistence", #"{"retention_period": "30d"}"#)
        let figures = await t.run("w2", "get-metrics").result["event_system_performance"]
        #expect(figures?["scope"]?["workflow_id"] == "w2")
        #expect(figures?["workflow_efficiency"]?["workflow_id"] == "w2")
        #expect(figures?["workflow_efficiency"]?["tasks_total"] == 2)
        #expect(figures?["workflow_efficiency"]?["tasks_completed"] == 1)
        #expect(figures?["agent_performance"]?["tasks_completed"] == 1)
        #expect(figures?["agent_performance"]?["agents"] == 1)
        #expect(figures?["persistence_performance"]?["retention_period"] == "30d")
        let stored = await t.run("w2", "get-events", #"{"limit": 10000}"#).result["count"]
        #expect(figures?["persistence_performance"]?["events_stored"] == stored)
        let hub = await t.run(nil, "get-metrics").result["event_system_performance"]
        #expect(hub?["scope"] == nil)
        #expect(hub?["workflow_efficiency"]?["workflows"] == 2)
    }

    @Test(arguments: [
        #"{"batch_size": 0}"#, #"{"batch_size": "huge"}"#, #"{"batch_timeout": "soon"}"#,
        #"{"event_types": ["Bad Type"]}"#, #"{"batch_size": 5, "extra": true}"#,
    ])
    func badBatchingIsRefused(_ params: String) async {
        #expect(await t.run(nil, "configure-batching", params).errorCode == "INVALID_PARAMETERS")
        let stored = try? await t.hub.store.read { tx in try tx.setting(EventSettingKey.batching) }
        #expect(stored == nil)
    }

    @Test func asyncProcessingIsStored() async throws {
        let r = await t.run(
            nil, "enable-async-processing", #"{"processing_pool_size": 8, "priority_scheme": "weighted"}"#)
        #expect(r.result["async_processing"]?["processing_pool_size"] == 8)
        #expect(r.result["async_processing"]?["enabled"] == true)
        #expect(
            await t.run(nil, "enable-async-processing", #"{"processing_pool_size": 0}"#).errorCode
                == "INVALID_PARAMETERS")
    }

    @Test func retentionRemovesOldEventsAndKeepsTheNewest() async throws {
        await publish("old")
        t.clock.advance(by: .days(8))
        await publish("recent")
        let r = await t.run(nil, "configure-persistence", #"{"retention_period": "7d", "enforce_now": true}"#)
        #expect(r.result["persistence"]?["last_removed"]?.intValue ?? 0 >= 1)
        let left = await types()
        #expect(!left.contains("old") && !left.contains("created"))
        #expect(left.contains("recent"))
    }

    /// Retention may remove what a subscription has not read (§10), but the subscriber was not
    /// told: it took the next events for all there were. A read says which sequences went.
    @Test func aSubscriptionIsToldOfEventsRemovedBeforeItReadThem() async throws {
        await t.run(nil, "subscribe-event", ##"{"patterns": ["#"], "callback": "slow", "start_from": "all"}"##)
        let seen = await t.run(nil, "get-events", #"{"subscription": "slow", "ack": true}"#)
        #expect(seen.result["removed_unread"] == .null)
        let cursor = seen.result["cursor"]?.intValue ?? 0
        await publish("old_one")
        await publish("old_two")
        t.clock.advance(by: .days(8))
        await publish("recent")
        await t.run(nil, "configure-persistence", #"{"retention_period": "7d", "enforce_now": true}"#)
        let read = await t.run(nil, "get-events", #"{"subscription": "slow"}"#)
        let removed = read.result["removed_unread"]
        #expect(removed?["from_sequence"]?.intValue == cursor + 1, "\(read.json)")
        #expect((removed?["through_sequence"]?.intValue ?? 0) >= cursor + 2, "\(read.json)")
        let steps = read.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(steps.first?.contains("removed by event retention before it read them") == true, "\(steps)")
        // Once read past, nothing more is said.
        let acked = await t.run(nil, "get-events", #"{"subscription": "slow", "ack": true}"#)
        #expect(acked.result["events"]?.arrayValue?.isEmpty == false)
        #expect(await t.run(nil, "get-events", #"{"subscription": "slow"}"#).result["removed_unread"] == .null)
    }

    /// With a workflow id, configure-persistence sets that workflow's own retention (§17):
    /// its events stay their 30 days while the hub-wide 7 days remove other workflows' events.
    @Test func aWorkflowsOwnRetentionKeepsItsEvents() async throws {
        await t.run("w2", "create", #"{"phases": ["build"]}"#)
        let own = await t.run("w1", "configure-persistence", #"{"retention_period": "30d"}"#)
        #expect(own.result["persistence"]?["workflows"]?["w1"]?["retention_period"] == "30d")
        #expect(own.result["persistence"]?["retention_period"] != "30d")
        await publish("kept_old")
        await t.run("w2", "publish-event", #"{"event_type": "gone_old"}"#)
        t.clock.advance(by: .days(8))
        await publish("recent")
        await t.run(nil, "configure-persistence", #"{"retention_period": "7d", "enforce_now": true}"#)
        let left = await types()
        #expect(left.contains("kept_old"))
        #expect(!left.contains("gone_old"))
        #expect(left.contains("recent"))
        // What the workflow did not set follows the hub-wide policy, also when it changes later.
        await t.run("w1", "configure-persistence", #"{"persistence_policy": "selective_critical"}"#)
        let shown = await t.run(nil, "configure-persistence", #"{"replay_capabilities": "acknowledged_only"}"#)
        let inForce = shown.result["persistence"]?["workflows"]?["w1"]
        #expect(inForce?["persistence_policy"] == "selective_critical")
        #expect(inForce?["retention_period"] == "30d")
        #expect(inForce?["replay_capabilities"] == "acknowledged_only")
        // An archived workflow's settings are not changed.
        await t.run("w2", "cancel")
        await t.run("w2", "cleanup")
        let archived = await t.run("w2", "configure-persistence", #"{"retention_period": "2d"}"#)
        #expect(archived.errorCode == "INVALID_TRANSITION")
    }

    @Test func selectiveCriticalDropsInfoProgressAfterADay() async throws {
        await publish("progress")
        await publish("warned", severity: "warning")
        t.clock.advance(by: .hours(25))
        await publish("fresh")
        await t.run(
            nil, "configure-persistence", #"{"persistence_policy": "selective_critical", "enforce_now": true}"#)
        let left = await types()
        #expect(!left.contains("progress"))
        #expect(left.contains("warned"))
        #expect(left.contains("created"))  // lifecycle events stay for the whole retention
        #expect(left.contains("fresh"))
    }

    @Test func acknowledgedOnlyKeepsWhatASubscriptionHasNotAcknowledged() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.tick"], "callback": "s", "start_from": "all"}"#)
        await publish("tick")
        await publish("tick")
        await t.run(nil, "get-events", #"{"subscription": "s", "limit": 1, "ack": true}"#)
        await t.run(nil, "configure-persistence", #"{"replay_capabilities": "acknowledged_only", "enforce_now": true}"#)
        let pending = await t.run(nil, "get-events", #"{"subscription": "s"}"#).result["events"]?.arrayValue ?? []
        #expect(pending.count == 1)
        #expect(await types().filter { $0 == "tick" }.count == 1)
    }

    /// The first retention run stored the configuration's event_retention as if set, and
    /// later configurations (config.json, the environment, flags) were ignored: raised to
    /// 30d, events still went after 7. A period set by configure-persistence still wins.
    @Test func retentionFollowsTheConfigurationUntilSet() async throws {
        #expect(try await t.hub.enforceRetention() != nil)
        func retention(_ days: Int64) async throws -> JSONValue? {
            var configuration = Configuration()
            configuration.eventRetention = .days(days)
            let hub = Hub(
                store: try SQLiteStore(path: t.directory.file("state/hub.sqlite")),
                stateDirectory: t.directory.file("state"), configuration: configuration, clock: t.clock,
                workingDirectory: t.directory.path)
            let metrics = await hub.perform(OperationRequest(workflowID: nil, operation: "get-metrics"))
            try await hub.store.close()
            return metrics.result["event_system_performance"]?["persistence_performance"]?["retention_period"]
        }
        #expect(try await retention(30) == "30d")
        #expect(try await retention(2) == "2d")
        await t.run(nil, "configure-persistence", #"{"retention_period": "3d"}"#)
        #expect(try await retention(30) == "3d")
    }

    @Test func retentionRunsOnlyWhenDue() async throws {
        await t.run(nil, "configure-persistence", #"{"retention_period": "1h"}"#)
        #expect(try await t.hub.enforceRetention() != nil)  // never ran: due
        #expect(try await t.hub.enforceRetention() == nil)  // just ran
        t.clock.advance(by: .minutes(61))
        #expect(try await t.hub.enforceRetention() != nil)
    }

    @Test func compressedDataReadsBackUnchanged() async throws {
        let payload = #"{"log": "\#(String(repeating: "line of build output ", count: 50))", "n": 7}"#
        await publish("build_log", data: payload)
        let before = await t.run(nil, "get-events", #"{"event_types": ["build_log"]}"#).result["events"]?.arrayValue?
            .first
        t.clock.advance(by: .hours(25))
        await publish("later")
        let r = await t.run(nil, "configure-persistence", #"{"compression_enabled": true, "enforce_now": true}"#)
        let persistence = r.result["persistence"]
        #expect(persistence?["compressed_events"]?.intValue ?? 0 >= 1)
        #expect(
            (persistence?["compressed_bytes_after"]?.intValue ?? .max)
                < (persistence?["compressed_bytes_before"]?.intValue ?? 0))
        let after = await t.run(nil, "get-events", #"{"event_types": ["build_log"]}"#).result["events"]?.arrayValue?
            .first
        #expect(after?["data"] == before?["data"])
        #expect(after?["data"]?["n"] == 7)
    }

    /// The seed's example sets compression with a workflow id; it was refused as hub-wide.
    /// Now it is the workflow's own: only its events are compressed.
    @Test func aWorkflowsOwnCompressionCompressesOnlyItsEvents() async throws {
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        await t.run("w2", "create", #"{"phases": ["p"]}"#)
        let payload = #"{"log": "\#(String(repeating: "line of build output ", count: 50))"}"#
        await publish("build_log", data: payload)
        await t.run("w2", "publish-event", "{\"event_type\": \"build_log\", \"data\": \(payload)}")
        t.clock.advance(by: .hours(25))
        await publish("later")
        let own = await t.run(
            "w1", "configure-persistence",
            #"{"persistence_policy": "all", "retention_period": "7d", "replay_capabilities": "full", "compression_enabled": true, "enforce_now": true}"#
        )
        #expect(own.succeeded, "\(own.json)")
        let persistence = own.result["persistence"]
        #expect(persistence?["compressed_events"] == 1, "\(String(describing: persistence))")
        #expect(persistence?["compression_enabled"] == false)
        #expect(persistence?["workflows"]?["w1"]?["compression_enabled"] == true)
        let logs = await t.run(nil, "get-events", #"{"event_types": ["build_log"]}"#).result["events"]?.arrayValue ?? []
        #expect(logs.count == 2 && logs.allSatisfy { $0["data"]?["log"]?.stringValue?.count == 1_050 })
    }

    @Test func badPersistenceIsRefused() async {
        #expect(
            await t.run(nil, "configure-persistence", #"{"retention_period": "5m"}"#).errorCode == "INVALID_PARAMETERS")
        #expect(
            await t.run(nil, "configure-persistence", #"{"persistence_policy": "some"}"#).errorCode
                == "INVALID_PARAMETERS")
    }
}

/// optimize-subscriptions and get-metrics against a real store.
@Suite struct EventMetricsTests {
    let t: TestHub
    init() async throws {
        t = try TestHub()
        await t.run("w1", "create", #"{"phases": ["build"]}"#)
    }

    @Test func optimizeAppliesOnlyTheSafeAdviceAndStoresAdaptiveFiltering() async throws {
        await t.run(
            nil, "subscribe-event",
            #"{"patterns": ["*.note", "*.never", "workflow.w1.note"], "callback": "o", "start_from": "all"}"#)
        for _ in 0..<3 { await t.run("w1", "publish-event", #"{"event_type": "note"}"#) }
        let advice = await t.run(nil, "optimize-subscriptions", #"{"subscriber_id": "o"}"#)
        #expect(advice.result["advice"]?["never_matched"] == ["*.never"])
        #expect(advice.result["advice"]?["covered_patterns"] == ["workflow.w1.note"])
        #expect(advice.result["patterns"] == ["*.note", "*.never", "workflow.w1.note"])  // advice only
        let applied = await t.run(
            nil, "optimize-subscriptions",
            #"{"subscription": "o", "apply": true, "enable_adaptive_filtering": true, "performance_monitoring": true}"#)
        #expect(applied.result["patterns_removed"] == ["workflow.w1.note"])
        #expect(applied.result["counters"] != nil)
        let stored = try #require(await t.hub.store.read { tx in try tx.subscription("o") })
        // The pattern that never matched stays: what it waits for may still come.
        #expect(stored.patterns == ["*.note", "*.never"])
        #expect(stored.adaptiveFiltering)
        // Adaptive filtering keeps the safe changes applied to the patterns a re-subscription gives.
        let again = await t.run(nil, "subscribe-event", ##"{"patterns": ["*.note", "#", "*.never"], "callback": "o"}"##)
        #expect(again.result["subscription"]?["patterns"] == ["#"], "\(again.json)")
        #expect(
            await t.run(nil, "optimize-subscriptions", #"{"subscription": "ghost"}"#).errorCode
                == "SUBSCRIPTION_NOT_FOUND")
        #expect(await t.run(nil, "optimize-subscriptions", "{}").errorCode == "INVALID_PARAMETERS")
    }

    @Test func metricsAreMeasuredOrNull() async throws {
        let empty = await t.run(nil, "get-metrics").result["event_system_performance"]
        #expect(empty?["batching_performance"]?["mean_batch_size"] == .null)
        #expect(empty?["async_processing_performance"]?["delivery_latency_ms"] == .null)
        #expect(empty?["agent_performance"]?["success_rate"] == .null)
        #expect(empty?["workflow_efficiency"]?["workflows_by_status"]?["created"] == 1)
        #expect((empty?["persistence_performance"]?["events_stored"]?.intValue ?? 0) >= 1)
        #expect((empty?["system_health"]?["storage_consumption_bytes"]?.intValue ?? 0) > 0)
        // Delivery figures the delivery service recorded are reported from the store.
        try await t.hub.store.write { tx in
            var d = DeliveryStatistics()
            d.recordBatch(eventTimestamps: [0, 0, 0, 0], now: 40)
            d.dedupChecked = 4
            d.dedupDropped = 1
            try tx.setSetting(DeliveryStatistics.settingKey, d.json)
        }
        let after = await t.run(nil, "get-metrics").result["event_system_performance"]
        #expect(after?["batching_performance"]?["mean_batch_size"] == 4.0)
        #expect(after?["batching_performance"]?["deduplication_rate"] == 0.25)
        #expect(after?["async_processing_performance"]?["delivery_latency_ms"]?["max"] == 40)
        await t.run(nil, "subscribe-event", ##"{"patterns": ["#"], "callback": "q", "start_from": "all"}"##)
        let queued = await t.run(nil, "get-metrics").result["event_system_performance"]
        #expect((queued?["async_processing_performance"]?["event_queue_depth"]?.intValue ?? 0) >= 1)
    }
}
