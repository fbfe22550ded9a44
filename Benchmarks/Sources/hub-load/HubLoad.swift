import Foundation

/// `hub-load`: load for a running `coordination-hub serve`, over HTTP only (issue 6).
/// Each scenario prints one JSON object on standard output; progress and errors go to
/// standard error; a failure exits 1, a usage error 2.
@main
enum HubLoad {
    static let usage = """
        usage: hub-load SCENARIO URL [options]
          dispatch URL [--agents 2] [--batch 10] [--tasks 20000] [--server-pid PID]
          publish  URL [--batch 100] [--size 200] [--seconds 10] [--concurrency 8] [--warmup 1] [--server-pid PID]
          sse      URL [--rate 5000] [--seconds 10] [--batch 10] [--warmup 1] [--server-pid PID]
          memory   URL --server-pid PID [--workflows 1000] [--tasks 100] [--agents 100] [--concurrency 4]
        (dispatch-agent URL --id ID --workflow WF [--batch 10] is started by dispatch.)
        URL is the server's base, e.g. http://127.0.0.1:8080 (scripts/bench-server.sh starts one).
        """

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let scenario = arguments.first else {
            FileHandle.standardError.write(Data((usage + "\n").utf8))
            exit(2)
        }
        let rest = Array(arguments.dropFirst())
        do {
            switch scenario {
            case "dispatch": try printJSON(try await DispatchScenario.run(rest))
            case "dispatch-agent": try await DispatchAgent.run(rest)
            case "publish": try printJSON(try await PublishScenario.run(rest))
            case "sse": try printJSON(try await SSEScenario.run(rest))
            case "memory": try printJSON(try await MemoryScenario.run(rest))
            case "help", "--help", "-h":
                print(usage)
            default:
                FileHandle.standardError.write(Data("hub-load: unknown scenario '\(scenario)'\n\(usage)\n".utf8))
                exit(2)
            }
        } catch {
            note("\(scenario): \(error)")
            exit(1)
        }
        exit(0)
    }
}
