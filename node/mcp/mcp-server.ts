/**
 * The MCP server: the tool table (tools.ts) and the resources (resources.ts) registered on an SDK
 * `McpServer`, each tool call run
 * against the node and answered as a structured result or an `isError` result with the ClawMesh
 * error code. One server per transport session; the node link is shared.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { CLAWMESH_VERSION } from '../../runtime/version.ts'
import { registerResources } from './resources.ts'
import { errorResult, toolResult } from './tool-results.ts'
import { isToolAvailable, MCP_TOOLS, type McpToolDefinition, type ToolContext } from './tools.ts'

const MCP_SERVER_INSTRUCTIONS =
  'ClawMesh field mesh. Tools return facts (mesh state, world model, proposals, host findings) and ' +
  'create proposals. Nothing runs until the safety policy allows it: actions wait for a person to ' +
  'approve them with the console or the CLI. This server never approves, rejects, clears an ' +
  'emergency stop or executes. T0 frames are model inferences, not measurements.'

export function createClawMeshMcpServer(
  context: ToolContext,
  tools: readonly McpToolDefinition[] = MCP_TOOLS,
): McpServer {
  const server = new McpServer(
    { name: 'clawmesh', version: CLAWMESH_VERSION },
    { instructions: MCP_SERVER_INSTRUCTIONS },
  )
  for (const tool of tools) {
    if (!isToolAvailable(tool)) continue
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { title: tool.title, ...tool.annotations },
      },
      async (input: Record<string, unknown>) => {
        try {
          const answer = await tool.run(context, input)
          return toolResult(answer.structured, answer.text)
        } catch (error) {
          return errorResult(error)
        }
      },
    )
  }
  const stopPolling = registerResources(server, context)
  server.server.onclose = stopPolling
  return server
}
