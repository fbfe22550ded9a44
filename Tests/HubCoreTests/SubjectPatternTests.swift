import HubCore
import HubTesting
import Testing

@Suite struct SubjectPatternTests {
    static let subjects = [
        "workflow.w1.phase_completed", "workflow.w1.failed", "workflow.w1.task_completed", "workflow.w1.task_failed",
        "agent.a1.failed", "agent.a1.performance_degraded", "hub.resources.resource_allocated",
        "workflow.w1.checkpoint_created",
    ]

    /// Pattern → the subjects above it matches.
    static let table: [(String, Set<String>)] = [
        ("workflow.*.phase_completed", ["workflow.w1.phase_completed"]),
        ("workflow.*.failed", ["workflow.w1.failed"]),
        ("agent.*.performance_degraded", ["agent.a1.performance_degraded"]),
        ("*.task_completed", ["workflow.w1.task_completed"]),
        ("*.failed", ["workflow.w1.failed", "agent.a1.failed"]),
        ("failed", ["workflow.w1.failed", "agent.a1.failed"]),
        ("workflow.*.task_completed", ["workflow.w1.task_completed"]),
        ("workflow.*.checkpoint_created", ["workflow.w1.checkpoint_created"]),
        ("*.task_failed", ["workflow.w1.task_failed"]),
        ("workflow.#", Set(subjects.filter { $0.hasPrefix("workflow.") })),
        ("#", Set(subjects)),
        ("agent.a1.*", ["agent.a1.failed", "agent.a1.performance_degraded"]),
        ("#.w1.#", Set(subjects.filter { $0.contains(".w1.") })),
        ("*.*.*.*", []),
        ("hub.#.resource_allocated", ["hub.resources.resource_allocated"]),
        ("w1.failed", ["workflow.w1.failed"]),
    ]

    @Test(arguments: table.map(\.0))
    func patternsMeanWhatTheSeedIntends(_ text: String) throws {
        let pattern = try SubjectPattern(text)
        let expected = Self.table.first { $0.0 == text }?.1 ?? []
        let matched = Set(Self.subjects.filter { pattern.matches($0) })
        #expect(matched == expected)
        var trie = SubjectTrie<String>()
        trie.insert(pattern, text)
        for subject in Self.subjects {
            #expect(trie.match(subject).contains(text) == expected.contains(subject), "\(subject)")
        }
    }

    @Test(arguments: [
        "", "a..b", ".a", "a.", "a#", "#a.b", "a*.b", "x.y*", String(repeating: "a", count: 10_000),
        // NATS's '>' would be a literal no subject has: refused, with '#' named instead.
        "workflow.w1.>", "workflow.a>b",
    ])
    func malformedPatternsAreRefused(_ text: String) {
        #expect(throws: HubError.self) { try SubjectPattern(text) }
    }

    @Test func theTrieAgreesWithTheDirectMatcherOnRandomInput() throws {
        var rng = SplitMix64(seed: 42)
        let words = ["workflow", "agent", "hub", "w1", "w2", "a1", "failed", "task_failed", "x"]
        func segment() -> String { words[Int(rng.next() % UInt64(words.count))] }
        var patterns: [SubjectPattern] = []
        for _ in 0..<200 {
            let length = 1 + Int(rng.next() % 4)
            var parts: [String] = []
            for _ in 0..<length {
                switch rng.next() % 6 {
                case 0: parts.append("*")
                case 1: parts.append("#")
                default: parts.append(segment())
                }
            }
            patterns.append(try SubjectPattern(parts.joined(separator: ".")))
        }
        var trie = SubjectTrie<Int>()
        for (n, p) in patterns.enumerated() { trie.insert(p, n) }
        #expect(trie.count == patterns.count)
        for _ in 0..<2000 {
            let subject = (0..<(1 + Int(rng.next() % 4))).map { _ in segment() }.joined(separator: ".")
            let direct = Set(patterns.indices.filter { patterns[$0].matches(subject) })
            #expect(trie.match(subject) == direct, "\(subject)")
        }
        for (n, p) in patterns.enumerated() where n % 2 == 0 { trie.remove(p, n) }
        let subject = "workflow.w1.failed"
        #expect(trie.match(subject) == Set(patterns.indices.filter { $0 % 2 == 1 && patterns[$0].matches(subject) }))
    }

    @Test(arguments: [
        ("agent.a1.failed", "a1"), ("hub.client.build_done", "client"), ("a..c", ""), ("a.b", "hub"),
        ("plain", "hub"), ("agent.é.x.y", "é"),
    ])
    func theRoutingEntityOfAnEventAboutNoWorkflowIsTheSubjectsSecondPart(_ subject: String, _ entity: String) {
        let event = HubEvent(
            eventID: "evt_1", sequence: 1, eventType: "failed", workflowID: nil, phase: 0, severity: .info,
            source: "s", timestamp: 0, data: .null, subject: subject, metadata: .init(), dedupID: nil)
        #expect(event.routingEntity == entity)
        #expect(event.routingKey == "failed.\(entity).0")
    }

    /// A pattern narrowed to a workflow (a handoff widening a subscription of every workflow)
    /// matches exactly the subjects of that workflow it matched, and nothing else.
    @Test(arguments: [
        ("*.started", ["workflow.h2.started"]),
        ("workflow.*.phase_completed", ["workflow.h2.phase_completed"]),
        ("failed", ["workflow.h2.failed"]),
        ("#", ["workflow.h2.*"]),
        ("workflow.#", ["workflow.h2.*"]),
        ("h2.*", ["workflow.h2.*"]),
        ("#.failed.#", ["workflow.h2.failed"]),
        ("agent.*.failed", []),
        ("workflow.other.*", []),
        ("*.*.*.*", []),
    ])
    func aPatternNarrowedToAWorkflowMatchesItsSubjectsThereAlone(_ text: String, _ expected: [String]) throws {
        let pattern = try SubjectPattern(text)
        let narrowed = pattern.narrowed(toWorkflow: "h2")
        #expect(narrowed == expected)
        let compiled = try narrowed.map { try SubjectPattern($0) }
        for subject in [
            "workflow.h2.started", "workflow.h2.failed", "workflow.h2.phase_completed", "workflow.h2.note",
            "workflow.other.started", "workflow.other.failed", "agent.h2.failed", "hub.h2.started",
        ] {
            let wanted = pattern.matches(subject) && subject.hasPrefix("workflow.h2.")
            #expect(compiled.contains { $0.matches(subject) } == wanted, "\(text) on \(subject)")
        }
    }
}
