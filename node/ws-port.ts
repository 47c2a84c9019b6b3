/** The port a node listens on for WebSockets (libp2p) unless node.json or `--port` says otherwise,
 * and the one the CLI dials for a URL without a port. Its own module so that a CLI command that only
 * dials a node does not load (and build the schemas of) the whole node configuration. */
export const DEFAULT_WS_PORT = 18789
