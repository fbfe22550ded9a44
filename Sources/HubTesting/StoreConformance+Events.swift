import HubCore
import HubStore

/// The event system's part of the store contract (§10): subscriptions and their
/// cursors, dead letters, dedup and causation lookups, time lookups, retention, settings.
extension StoreConformance {
    static let eventCases: [(name: String, run: @Sendable (any Store) async throws -> Void)] = [
        ("subscriptions round-trip; callback names are unique", subscriptionsRoundTrip),
        ("dead letters list in sequence order and go with their subscription", deadLettersList),
        ("dedup ids are found only inside the window", dedupLookup),
        ("a batch of events takes consecutive sequences and reads back as appended", batchAppend),
        ("an append that breaks a constraint stores none of its batch", failedAppend),
        ("the log's times never go back along its sequence", timesNeverGoBack),
        ("causation links find an event's effects", causationLinks),
        ("time bounds map to sequences", timeToSequence),
        ("retention removes what its rule selects and sequences keep rising", retention),
        ("retention keeps dead-lettered events while their letters last", retentionKeepsDeadLetters),
        ("settings round-trip", settingsRoundTrip),
        ("agent tokens are found by their hash", agentTokens),
        ("the sweep's one look agrees with its five reads", sweepLook),
    ]

    /// `sweepHasWork` is true exactly when one of the sweep's reads finds something, at
    /// times on both sides of when each kind of work falls due (whatever other cases left in
    /// the store). Each timed kind added falls due before those added earlier, so at its
    /// own moment it alone is due: an agent silent from 6,000,000 by the interval it was told
    /// (heard from at 1,000, so silent long before by any other), one recorded without that
    /// moment and last heard from at 5,000,000, a lease expiring at 4,000,000, a run deadline
    /// at 3,000,000; then a request and a reservation, due at once.
    static func sweepLook(_ store: any Store) async throws {
        func check(_ label: String) async throws {
            let times: [Int64] = [
                0, 2_999_999, 3_000_000, 3_999_999, 4_000_000, 4_999_999, 5_000_000, 5_999_999, 6_000_000, 9_000_000,
            ]
            for time in times {
                let (look, reads, heldLook, heldReads) = try await store.read { tx in
                    let others =
                        !(try tx.agentsSilent(by: time, unrecordedSince: time).isEmpty
                        && tx.overdueTasks(now: time).isEmpty && tx.reservedTasks().isEmpty
                        && tx.liveAllocations().isEmpty)
                    return (
                        try tx.sweepHasWork(
                            agentsSilentBy: time, unrecordedSilentSince: time, leasesExpiredBy: time, now: time),
                        try others || !tx.expiredLeases(now: time).isEmpty,
                        // A server that has just started holds lease expiry back: that part alone is never due.
                        try tx.sweepHasWork(
                            agentsSilentBy: time, unrecordedSilentSince: time, leasesExpiredBy: .min, now: time),
                        others
                    )
                }
                try expect(look == reads, "\(label), at \(time): the look says \(look), the reads \(reads)")
                try expect(
                    heldLook == heldReads,
                    "\(label), at \(time), leases held: the look says \(heldLook), the reads \(heldReads)")
            }
        }
        try await check("as the store is")
        try await store.write { tx in
            var agent = Agent(agentID: "conf_sweep_told", registeredAt: 1)
            agent.lastHeartbeat = 1_000
            agent.silentAt = 6_000_000
            try tx.save(agent)
        }
        try await check("with an agent silent from 6,000,000")
        let silent = try await store.read { tx in
            (
                try tx.agentsSilent(by: 5_999_999, unrecordedSince: 9_000_000).map(\.agentID),
                try tx.agentsSilent(by: 6_000_000, unrecordedSince: 0).map(\.agentID)
            )
        }
        try expect(
            silent.0.isEmpty && silent.1 == ["conf_sweep_told"],
            "an agent with its silent moment is silent from it, not by its last heartbeat: \(silent)")
        try await store.write { tx in
            var agent = Agent(agentID: "conf_sweep_agent", registeredAt: 1)
            agent.lastHeartbeat = 5_000_000
            try tx.save(agent)
        }
        try await check("and an agent recorded without it, last heard from at 5,000,000")
        try await store.write { tx in
            try tx.insert(
                Lease(
                    leaseID: "lease_conf_sweep", workflowID: "conf_sweep_wf", taskID: "a", agentID: "conf_sweep_agent",
                    claimedAt: 1, expiresAt: 4_000_000))
        }
        try await check("and a lease expiring at 4,000,000")
        let sample = sample("conf_sweep_wf")
        try await insert(sample, into: store)
        var running = sample.tasks[0]
        running.status = .running
        running.runDeadline = 3_000_000
        try await store.write { [running] tx in try tx.update(running) }
        try await check("and a running task due at 3,000,000")
        try await store.write { tx in
            _ = try tx.insert(
                ResourceAllocation(
                    requestID: "req_conf_sweep", workflowID: nil, agentID: "conf_sweep_agent", resources: ["gpu": 1],
                    priority: .medium, mode: .exclusive, createdAt: 1, deadline: 7_000_000))
        }
        try await check("and a queued resource request")
        var reserved = sample.tasks[1]
        reserved.status = .ready
        reserved.reservedFor = "conf_sweep_agent"
        try await store.write { [reserved] tx in try tx.update(reserved) }
        try await check("and a reserved task")
    }

    static func agentTokens(_ store: any Store) async throws {
        try await store.write { tx in
            try tx.insertToken(hash: "hash_conf_1", agentID: "conf_agent", createdAt: 1)
            try tx.insert(
                Lease(
                    leaseID: "lease_conf_tok", workflowID: "conf_tok_wf", taskID: "t", agentID: "conf_agent",
                    claimedAt: 1, expiresAt: 2))
        }
        let (agent, missing, worked, idle) = try await store.read { tx in
            (
                try tx.tokenAgent(hash: "hash_conf_1"), try tx.tokenAgent(hash: "hash_conf_2"),
                try tx.agentHasWorked(agentID: "conf_agent", workflowID: "conf_tok_wf"),
                try tx.agentHasWorked(agentID: "conf_agent", workflowID: "conf_other_wf")
            )
        }
        try expect(agent == "conf_agent", "a token's agent: \(String(describing: agent))")
        try expect(missing == nil, "an unknown hash found an agent")
        try expect(worked && !idle, "agentHasWorked: \(worked), \(idle)")
    }

    static func draft(
        _ type: String, workflow: String = "conf_ev", severity: Severity = .info, dedup: String? = nil,
        cause: String? = nil
    ) -> EventDraft {
        EventDraft(
            eventType: type, workflowID: workflow, phase: 1, severity: severity,
            subject: "workflow.\(workflow).\(type)",
            metadata: EventMetadata(causationID: cause), dedupID: dedup)
    }

    static func subscriptionsRoundTrip(_ store: any Store) async throws {
        var sub = Subscription(
            id: "sub_conf_1", callback: "conf-listener", patterns: ["*.failed", "workflow.#"],
            filter: EventFilter(severities: [.error, .critical], workflowIDs: ["w1"]), delivery: .webhook,
            webhookURL: "http://127.0.0.1:9/hook", secret: "s3cret",
            retryPolicy: RetryPolicy(maxRetries: 5, backoff: .linear, initialDelay: .seconds(2)), cursor: 7,
            smartFiltering: true, optimizationGoal: .latency, createdAt: 1_000)
        try await store.write { [sub] tx in try tx.insert(sub) }
        let byID = try await store.read { tx in try tx.subscription("sub_conf_1") }
        let byName = try await store.read { tx in try tx.subscription("conf-listener") }
        try expect(byID == sub, "the stored subscription differs: \(String(describing: byID)) vs \(sub)")
        try expect(byName == sub, "a subscription is not found by its callback name")
        sub.acknowledge(through: 12)
        sub.count(
            HubEvent(
                eventID: "evt_x", sequence: 12, eventType: "failed", workflowID: "w1", phase: 0, severity: .info,
                source: "t", timestamp: 0, data: .emptyObject, subject: "workflow.w1.failed", metadata: .init(),
                dedupID: nil), compiled: sub.compiledPatterns)
        try await store.write { [sub] tx in try tx.update(sub) }
        let updated = try await store.read { tx in try tx.subscription("sub_conf_1") }
        try expect(updated?.cursor == 12, "the cursor did not move: \(String(describing: updated?.cursor))")
        try expect(
            updated?.counters == sub.counters && sub.counters.filtered == 1
                && sub.counters.matchedByPattern == ["*.failed": 1, "workflow.#": 1],
            "counters were not kept: \(String(describing: updated?.counters))")
        do {
            let twin = Subscription(id: "sub_conf_2", callback: "conf-listener", patterns: ["#"], createdAt: 2_000)
            try await store.write { tx in try tx.insert(twin) }
            try expect(false, "a second subscription with the same callback was stored")
        } catch let error as HubError {
            try expect(error.code == .invalidParameters, "a taken callback gave \(error.code), not INVALID_PARAMETERS")
        }
        let all = try await store.read { tx in try tx.subscriptions() }
        try expect(all.map(\.id) == ["sub_conf_1"], "subscriptions() returned \(all.map(\.id))")
        try await store.write { tx in try tx.removeSubscription("sub_conf_1") }
        let gone = try await store.read { tx in try tx.subscription("sub_conf_1") }
        try expect(gone == nil, "a removed subscription is still there")
    }

    static func deadLettersList(_ store: any Store) async throws {
        try await store.write { tx in
            try tx.insert(Subscription(id: "sub_conf_dl", callback: "conf-dl", patterns: ["#"], createdAt: 1))
            for n in [5, 3, 9] {
                try tx.insert(
                    DeadLetter(
                        subscriptionID: "sub_conf_dl", sequence: Int64(n), eventID: "evt_\(n)", attempts: 2,
                        lastError: "503", at: 10))
            }
            // The same event again replaces its entry.
            try tx.insert(
                DeadLetter(
                    subscriptionID: "sub_conf_dl", sequence: 5, eventID: "evt_5", attempts: 4, lastError: "timeout",
                    at: 20))
        }
        let letters = try await store.read { tx in
            try tx.deadLetters(subscriptionID: "sub_conf_dl", afterSequence: 3, limit: 10)
        }
        try expect(letters.map(\.sequence) == [5, 9], "dead letters after 3: \(letters.map(\.sequence))")
        try expect(letters.first?.attempts == 4, "a repeated dead letter did not replace the first")
        try await store.write { tx in try tx.removeSubscription("sub_conf_dl") }
        let left = try await store.read { tx in
            try tx.deadLetters(subscriptionID: "sub_conf_dl", afterSequence: 0, limit: 10)
        }
        try expect(left.isEmpty, "dead letters outlived their subscription")
    }

    static func dedupLookup(_ store: any Store) async throws {
        let first = try await store.write { tx in
            _ = try tx.append(draft("build", dedup: "job-1"), eventID: "evt_dd_1", timestamp: 1_000)
            return try tx.append(draft("build", dedup: "job-1"), eventID: "evt_dd_2", timestamp: 5_000)
        }
        let inside = try await store.read { tx in
            try tx.event(dedupID: "job-1", workflowID: "conf_ev", since: 4_000)
        }
        try expect(inside == first, "the newest event with the dedup id inside the window was not found")
        let outside = try await store.read { tx in
            try tx.event(dedupID: "job-1", workflowID: "conf_ev", since: 6_000)
        }
        try expect(outside == nil, "an event outside the window was found")
        let other = try await store.read { tx in
            try tx.event(dedupID: "job-2", workflowID: "conf_ev", since: 0)
        }
        try expect(other == nil, "an unknown dedup id was found")
        // Whatever the type: a dedup id names one thing that happened (§10).
        let otherWorkflow = try await store.read { tx in
            try tx.event(dedupID: "job-1", workflowID: "other", since: 0)
        }
        try expect(otherWorkflow == nil, "a dedup id was found in another workflow")
    }

    /// An append stamped earlier than the newest event (its operation read the clock before
    /// another, in this process or another, that committed first) takes the newest event's
    /// time: the log's times never go back along its sequence, so reading by time (`since`,
    /// `from_time`) skips nothing that reading by sequence returns.
    static func timesNeverGoBack(_ store: any Store) async throws {
        let (latest, late, next) = try await store.write { tx in
            let newest = try tx.events(EventQuery(limit: 1, descending: true)).first?.timestamp ?? 0
            let latest = try tx.append(draft("stamped"), eventID: "evt_conf_stamped", timestamp: newest + 10_000)
                .timestamp
            let late = try tx.append(draft("stamped_early"), eventID: "evt_conf_early", timestamp: latest - 500)
            let next = try tx.append(draft("stamped_later"), eventID: "evt_conf_later_time", timestamp: latest + 7)
            return (latest, late, next)
        }
        try expect(
            late.timestamp == latest, "an event stamped before the newest one kept \(late.timestamp) < \(latest)")
        try expect(next.timestamp == latest + 7, "an event stamped later took \(next.timestamp), not its own time")
        let stored = try await store.read { tx in try tx.events(EventQuery(afterSequence: late.sequence - 1, limit: 2))
        }
        try expect(stored.map(\.timestamp) == [latest, latest + 7], "stored times: \(stored.map(\.timestamp))")
        // One stamped far ahead (a process with a wrong clock) does not stop the log's time there.
        let (ahead, after) = try await store.write { tx in
            (
                try tx.append(draft("stamped_ahead"), eventID: "evt_conf_ahead", timestamp: latest + 7_200_000),
                try tx.append(draft("stamped_now"), eventID: "evt_conf_now", timestamp: latest + 8)
            )
        }
        try expect(ahead.timestamp == latest + 7_200_000, "an event stamped ahead took \(ahead.timestamp)")
        try expect(after.timestamp == latest + 8, "an event after one stamped hours ahead took \(after.timestamp)")
    }

    static func failedAppend(_ store: any Store) async throws {
        let before = try await store.read { tx in try tx.lastEventSequence() }
        _ = try await store.write { tx in try tx.append(draft("taken"), eventID: "evt_conf_taken", timestamp: 1) }
        // The third event reuses a stored id: the store refuses it, and the write as a whole.
        let batch = ["evt_conf_new_1", "evt_conf_new_2", "evt_conf_taken", "evt_conf_new_3"].map {
            EventToAppend(draft: draft("retaken"), eventID: $0, serializedData: "{}")
        }
        var refused = false
        do {
            _ = try await store.write { tx in try tx.append(batch, timestamp: 2) }
        } catch {
            refused = true
        }
        try expect(refused, "a batch reusing a stored event id was accepted")
        let after = try await store.read { tx in try tx.events(EventQuery(afterSequence: before, limit: 10)) }
        try expect(
            after.map(\.eventID) == ["evt_conf_taken"], "the refused batch left events behind: \(after.map(\.eventID))")
        let next = try await store.write { tx in try tx.append(draft("later"), eventID: "evt_conf_later", timestamp: 3)
        }
        try expect(next.sequence > after[0].sequence, "the store took no event after a refused batch")
    }

    static func batchAppend(_ store: any Store) async throws {
        // 101 events: more than one statement's worth of rows, and every size of statement;
        // every field varies, so a value bound to the wrong column shows.
        let batch = (0..<101).map { n in
            EventToAppend(
                draft: EventDraft(
                    eventType: n % 3 == 0 ? "batch_even" : "batch_odd",
                    workflowID: n % 4 == 1 ? nil : "conf_ev_\(n % 5)",
                    phase: n % 7, severity: Severity.allCases[n % Severity.allCases.count], source: "source-\(n)",
                    data: ["n": .int(Int64(n))], subject: "subject.\(n).batch",
                    metadata: EventMetadata(
                        correlationID: n % 2 == 0 ? "corr-\(n)" : nil, causationID: n % 3 == 1 ? "evt_cause_\(n)" : nil,
                        tags: n % 5 == 0 ? ["tag-\(n)", "other"] : []),
                    dedupID: n == 7 ? "batch-7" : nil),
                eventID: "evt_batch_\(n)", serializedData: #"{"n":\#(n)}"#)
        }
        let (before, latest, appended, after) = try await store.write { tx in
            let before = try tx.lastEventSequence()
            let latest = try tx.events(EventQuery(limit: 1, descending: true)).first?.timestamp ?? 0
            let appended = try tx.append(batch, timestamp: latest + 42)
            let after = try tx.append(draft("batch_after"), eventID: "evt_batch_after", timestamp: latest + 43)
            return (before, latest, appended, after)
        }
        try expect(appended.map(\.eventID) == batch.map(\.eventID), "the batch came back out of order")
        try expect(
            appended.map(\.sequence) == Array((before + 1)...(before + 101)) && after.sequence == before + 102,
            "the batch's sequences are not consecutive: \(appended.map(\.sequence))")
        let read = try await store.read { tx in
            try tx.events(EventQuery(afterSequence: before, limit: 200))
        }
        try expect(read.count == 102, "read back \(read.count) events of 102")
        for (stored, returned) in zip(read, appended) {
            try expect(
                stored == returned, "\(stored) reads back differently from what the append returned: \(returned)")
            try expect(stored.timestamp == latest + 42, "\(stored.eventID) has the time \(stored.timestamp)")
        }
        for (stored, sent) in zip(read, batch) {
            var expected = sent.draft
            expected.data = stored.data
            try expect(
                EventDraft(
                    eventType: stored.eventType, workflowID: stored.workflowID, phase: stored.phase,
                    severity: stored.severity, source: stored.source, data: stored.data, subject: stored.subject,
                    metadata: stored.metadata, dedupID: stored.dedupID) == expected,
                "\(stored.eventID) reads back as \(stored), not as appended: \(sent.draft)")
        }
        try expect(read[5].data == ["n": 5], "the stored data of one event is \(read[5].data)")
        let dedup = try await store.read { tx in
            try tx.event(dedupID: "batch-7", workflowID: "conf_ev_2", since: 0)
        }
        try expect(dedup?.eventID == "evt_batch_7", "the batch's dedup id is not found")
    }

    static func causationLinks(_ store: any Store) async throws {
        let (cause, effects) = try await store.write { tx in
            let cause = try tx.append(draft("task_failed"), eventID: "evt_cause", timestamp: 1)
            let a = try tx.append(draft("task_retried", cause: "evt_cause"), eventID: "evt_eff_a", timestamp: 2)
            _ = try tx.append(draft("unrelated"), eventID: "evt_unrelated", timestamp: 3)
            let b = try tx.append(draft("phase_failed", cause: "evt_cause"), eventID: "evt_eff_b", timestamp: 4)
            return (cause, [a, b])
        }
        let found = try await store.read { tx in try tx.events(causedBy: ["evt_cause"]) }
        try expect(found == effects, "effects of an event: \(found.map(\.eventID))")
        let byID = try await store.read { tx in try tx.event(id: "evt_cause") }
        try expect(byID == cause, "an event is not found by its id")
    }

    static func timeToSequence(_ store: any Store) async throws {
        // Far in the future, so events other cases left in a shared store are all earlier.
        let base: Int64 = 9_000_000_000_000
        let events = try await store.write { tx in
            try [100, 200, 300].map { t in
                try tx.append(
                    draft("tick", workflow: "conf_time"), eventID: "evt_time_\(t)", timestamp: base + Int64(t))
            }
        }
        let first = try await store.read { tx in try tx.firstSequence(atOrAfter: base + 150) }
        let last = try await store.read { tx in try tx.lastSequence(atOrBefore: base + 250) }
        try expect(first == events[1].sequence, "first sequence at or after 150: \(String(describing: first))")
        try expect(last == events[1].sequence, "last sequence at or before 250: \(last)")
        let none = try await store.read { tx in try tx.firstSequence(atOrAfter: Int64.max) }
        try expect(none == nil, "a time after every event found a sequence")
    }

    /// Dead-lettering moves a cursor past an event its subscriber never got; the lowest
    /// cursor then counted it as acknowledged, and the dead letter lost its event.
    static func retentionKeepsDeadLetters(_ store: any Store) async throws {
        let (lettered, plain) = try await store.write { tx in
            try tx.insert(Subscription(id: "sub_conf_rdl", callback: "conf-rdl", patterns: ["#"], createdAt: 1))
            let lettered = try tx.append(draft("task_ready", workflow: "conf_rdl"), eventID: "evt_rdl1", timestamp: 1)
            let plain = try tx.append(draft("task_ready", workflow: "conf_rdl"), eventID: "evt_rdl2", timestamp: 1)
            _ = try tx.append(draft("task_ready", workflow: "conf_rdl"), eventID: "evt_rdl3", timestamp: 1)
            try tx.insert(
                DeadLetter(
                    subscriptionID: "sub_conf_rdl", sequence: lettered.sequence, eventID: lettered.eventID,
                    attempts: 1, lastError: "500", at: 2))
            return (lettered, plain)
        }
        _ = try await store.write { tx in
            try tx.deleteEvents(
                RetentionRule(before: 0, acknowledgedThrough: plain.sequence, workflowID: "conf_rdl"))
        }
        let left = try await store.read { tx in try tx.events(EventQuery(workflowID: "conf_rdl")).map(\.eventID) }
        try expect(left.contains(lettered.eventID), "a dead-lettered event went with acknowledged ones: \(left)")
        try expect(!left.contains(plain.eventID), "an acknowledged event stayed: \(left)")
        // Nor does the retention period remove it while its dead letter is there (the letter
        // listed `event: null` once its event aged out); with the letter gone, it goes.
        let everything = RetentionRule(before: Int64.max, workflowID: "conf_rdl")
        _ = try await store.write { tx in try tx.deleteEvents(everything) }
        let aged = try await store.read { tx in try tx.events(EventQuery(workflowID: "conf_rdl")).map(\.eventID) }
        try expect(aged.contains(lettered.eventID), "retention removed a dead-lettered event: \(aged)")
        _ = try await store.write { tx in try tx.removeSubscription("sub_conf_rdl") }
        _ = try await store.write { tx in try tx.deleteEvents(everything) }
        let after = try await store.read { tx in try tx.events(EventQuery(workflowID: "conf_rdl")).map(\.eventID) }
        try expect(!after.contains(lettered.eventID), "an event outlived its subscription's dead letter: \(after)")
    }

    static func retention(_ store: any Store) async throws {
        // Times from the newest event on (the log's times never go back; other cases may share the store).
        let t0 = try await store.read { tx in
            try tx.events(EventQuery(limit: 1, descending: true)).first?.timestamp ?? 0
        }
        _ = try await store.write { tx in
            [
                try tx.append(draft("task_ready", workflow: "conf_ret"), eventID: "evt_r1", timestamp: t0 + 10),
                try tx.append(draft("completed", workflow: "conf_ret"), eventID: "evt_r2", timestamp: t0 + 20),
                try tx.append(
                    draft("task_failed", workflow: "conf_ret", severity: .error), eventID: "evt_r3", timestamp: t0 + 30),
                try tx.append(draft("task_ready", workflow: "conf_ret"), eventID: "evt_r4", timestamp: t0 + 500),
            ]
        }
        // Info events other than `completed` older than 100 go; nothing is older than 5.
        // (Other cases may share the store, so only this workflow's events are checked.)
        let removed = try await store.write { tx in
            try tx.deleteEvents(RetentionRule(before: t0 + 5, infoBefore: t0 + 100, keptTypes: ["completed"]))
        }
        let left = try await store.read { tx in try tx.events(EventQuery(workflowID: "conf_ret")) }
        try expect(removed >= 1, "retention removed \(removed) events, expected at least evt_r1")
        try expect(
            left.map(\.eventID) == ["evt_r2", "evt_r3", "evt_r4"], "retention left \(left.map(\.eventID))")
        // A rule scoped to one workflow, or to all but some, touches only those events.
        let scoped = try await store.write { tx in
            _ = try tx.append(draft("task_ready", workflow: "conf_ret_own"), eventID: "evt_r6", timestamp: t0 + 540)
            // Newer than the rules' limit, so evt_r6 is not the newest event, which always stays.
            let tail = try tx.append(
                draft("task_ready", workflow: "conf_ret_tail"), eventID: "evt_r7", timestamp: t0 + 2_000)
            let spared = try tx.deleteEvents(
                RetentionRule(before: t0 + 1_000, exceptWorkflows: ["conf_ret", "conf_ret_own"]))
            let other = try tx.deleteEvents(RetentionRule(before: t0 + 1_000, workflowID: "conf_ret_other"))
            return (spared, other, tail.sequence)
        }
        let kept = try await store.read { tx in
            try tx.events(EventQuery(workflowID: "conf_ret")).count
                + tx.events(EventQuery(workflowID: "conf_ret_own")).count
        }
        try expect(kept == 4 && scoped.1 == 0, "a scoped rule removed events outside its scope (\(kept) left)")
        let own = try await store.write { tx in
            try tx.deleteEvents(RetentionRule(before: t0 + 1_000, workflowID: "conf_ret_own"))
        }
        try expect(own == 1, "a rule for one workflow removed \(own) of its events, expected 1")
        // Everything old goes, but the newest event stays so sequences keep rising.
        _ = try await store.write { tx in try tx.deleteEvents(RetentionRule(before: Int64.max)) }
        let last = try await store.read { tx in try tx.lastEventSequence() }
        try expect(last == scoped.2, "the newest event did not survive retention")
        let next = try await store.write { tx in
            try tx.append(draft("task_ready", workflow: "conf_ret"), eventID: "evt_r5", timestamp: t0 + 2_600)
        }
        try expect(next.sequence > scoped.2, "a sequence was reused after retention")
    }

    static func settingsRoundTrip(_ store: any Store) async throws {
        let missing = try await store.read { tx in try tx.setting("batching") }
        try expect(missing == nil, "an unset setting has a value")
        try await store.write { tx in
            try tx.setSetting("batching", ["batch_size": 10])
            try tx.setSetting("batching", ["batch_size": "adaptive"])
        }
        let value = try await store.read { tx in try tx.setting("batching") }
        try expect(value == ["batch_size": "adaptive"], "setting read back as \(String(describing: value))")
    }
}
