#!/usr/bin/env node
/** Entry point of `clawmesh-relay`, the members-only signaling relay: a composition root, so it
 * installs native crypto first (it verifies operator certificates and revocations). */
import { runCli } from '../../runtime/cli/run-cli.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { buildRelayProgram } from '../cli.ts'

installNativeCrypto()
await runCli(buildRelayProgram(), process.argv)
