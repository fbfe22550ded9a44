import Foundation
import HubCLI

let status = await CommandLineTool().run(Array(CommandLine.arguments.dropFirst()))
exit(status)
