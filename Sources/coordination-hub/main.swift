import Foundation
import HubCLI

let status = await CommandLineTool().runProcess()
exit(status)
