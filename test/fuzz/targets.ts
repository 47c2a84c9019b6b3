/**
 * Every decoder at a ClawMesh boundary, as a fuzz target: what it is fed (fast-check arbitraries
 * derived from its schema, raw random bytes, byte flips and field mutations of a valid message) and
 * what it may answer. A decoder passes an input when it either accepts it or refuses it in its
 * closed vocabulary: a `ClawMeshError` with a code of the closed table (protocol/errors.ts), or a
 * verdict whose reason is one of the verifier's own table. Anything else thrown is a crash
 * ("unclassified"), and a signed record that verifies after a mutation changed its canonical form is
 * a forgery ("accepted-mutation").
 *
 * Shared by the CI property test (test/fuzz/fuzz.test.ts, short fixed seed) and the million-input
 * bench (test/bench/fuzz.bench.ts).
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import type { z } from 'zod'
import { canonicalJson } from '../../protocol/canonical.ts'
import { decodeJsonMessage, encodeJsonMessage } from '../../protocol/codec.ts'
import { consoleConfigSchema } from '../../protocol/console-config.ts'
import { decodeBatch, sealBatch } from '../../protocol/context/batch.ts'
import {
  createFrame,
  FRAME_VERDICT_REASONS,
  type Frame,
  type FrameFields,
  verifyFrame,
} from '../../protocol/context/frame.ts'
import { ClawMeshError, ERROR_CODES, type ErrorCode } from '../../protocol/errors.ts'
import { RPC_MAX_MESSAGE_BYTES } from '../../protocol/limits.ts'
import {
  PAIRING_MESSAGE_MAX_BYTES,
  pairingRequestSchema,
  pairingResponseSchema,
} from '../../protocol/pairing.ts'
import {
  LEADER_ANNOUNCEMENT_MAX_BYTES,
  LEADER_ANNOUNCEMENT_REFUSALS,
  signLeaderAnnouncement,
  verifyLeaderAnnouncement,
} from '../../protocol/planner-election.ts'
import { decodeRpcRequest, parseRpcParams } from '../../protocol/rpc/decode.ts'
import { rpcRequestSchema } from '../../protocol/rpc/envelope.ts'
import { isRpcMethodName, RPC_METHODS, type RpcMethodName } from '../../protocol/rpc/methods.ts'
import { APPROVAL_REJECTIONS, signApproval, verifyApproval } from '../../protocol/safety/approval.ts'
import { issueCommand, verifyCommandIssuer } from '../../protocol/safety/command.ts'
import {
  CHECKPOINT_REFUSALS,
  signEvidenceCheckpoint,
  verifyEvidenceCheckpoint,
} from '../../protocol/safety/evidence-checkpoint.ts'
import {
  issueOperatorCertificate,
  OPERATOR_CERTIFICATE_REJECTIONS,
  verifyOperatorCertificate,
} from '../../protocol/safety/operator-certificate.ts'
import { proposalHash } from '../../protocol/safety/proposal.ts'
import {
  issueOperatorRevocation,
  OPERATOR_REVOCATION_REJECTIONS,
  verifyOperatorRevocation,
} from '../../protocol/safety/revocation.ts'
import { type Signer, signerFromPrivateKey } from '../../protocol/signing.ts'
import { HOUR, makeProposal, NOW } from '../helpers/safety-fixtures.ts'

export type FailureKind = 'unclassified' | 'accepted-mutation' | 'wrong-code'

/** What a target answers for one input: fine, or the failure (thrown out of `run`). */
export class FuzzFailure extends Error {
  readonly kind: FailureKind
  readonly target: string

  constructor(kind: FailureKind, target: string, message: string, options: { cause?: unknown } = {}) {
    super(`${target}: ${kind}: ${message}`, options)
    this.kind = kind
    this.target = target
  }
}

export interface FuzzTarget {
  readonly name: string
  readonly arbitrary: fc.Arbitrary<unknown>
  /** Resolves when the decoder answered in its closed vocabulary; throws a FuzzFailure otherwise. */
  run(input: unknown): Promise<void> | void
  /** Signed records: whether the verifier accepts the unmutated sample (else the mutation property
   * would hold vacuously). */
  acceptsSample?(): Promise<boolean>
}

const MESH = { meshName: 'fuzz-mesh', generation: 1 }
const MAX_RANDOM_BYTES = 512
const MAX_STRING = 24
const MAX_ARRAY = 3
const MAX_DEPTH = 5
const textEncoder = new TextEncoder()

// ─── Classification ──────────────────────────────────────────────────────────────────────────────

/** Runs `decode`; a throw must be a ClawMeshError whose code is among `allowed`. */
async function classified(
  target: string,
  allowed: readonly ErrorCode[],
  decode: () => unknown,
): Promise<void> {
  try {
    await decode()
  } catch (error) {
    if (!(error instanceof ClawMeshError) || !Object.hasOwn(ERROR_CODES, error.code))
      throw new FuzzFailure('unclassified', target, describe(error), { cause: error })
    if (!allowed.includes(error.code))
      throw new FuzzFailure('wrong-code', target, `${error.code}: ${error.message}`, { cause: error })
  }
}

/** A verifier that "never throws": it must not, and its refusal reason must be in its table. */
async function verdict(
  target: string,
  reasons: readonly string[],
  verify: () => Promise<{ reason?: string; outcome?: string; verdict?: string }>,
): Promise<{ accepted: boolean }> {
  let answer: { reason?: string; outcome?: string; verdict?: string }
  try {
    answer = await verify()
  } catch (error) {
    throw new FuzzFailure('unclassified', target, `verifier threw ${describe(error)}`, { cause: error })
  }
  const accepted = answer.outcome === 'accept' || answer.verdict === 'accept'
  if (!accepted && (answer.reason === undefined || !reasons.includes(answer.reason)))
    throw new FuzzFailure('unclassified', target, `refusal reason ${String(answer.reason)} not in its table`)
  return { accepted }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function canonicalOrUndefined(value: unknown): string | undefined {
  try {
    return canonicalJson(value)
  } catch {
    return undefined
  }
}

// ─── Arbitraries ─────────────────────────────────────────────────────────────────────────────────

const json = fc.jsonValue({ maxDepth: 3 })
const noise: fc.Arbitrary<unknown> = fc.oneof(
  json,
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(
    '__proto__',
    { __proto__: { polluted: true } },
    JSON.parse('{"__proto__":{"polluted":true}}'),
    { constructor: { prototype: {} } },
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 64,
    '\u0000',
    '\uD800',
    'x'.repeat(70_000),
    [],
    {},
    null,
  ),
)

interface ZodInternals {
  _zod: { def: Record<string, unknown> & { type: string } }
}

/** An arbitrary that mostly follows `schema` (right keys, right kinds of values) and sometimes
 * does not, so inputs reach the deep checks of a schema as well as its first one. */
export function fromSchema(schema: z.ZodType, depth = 0): fc.Arbitrary<unknown> {
  const conforming = conformingArbitrary(schema as unknown as ZodInternals, depth)
  return fc.oneof({ weight: 5, arbitrary: conforming }, { weight: 1, arbitrary: noise })
}

function conformingArbitrary(schema: ZodInternals, depth: number): fc.Arbitrary<unknown> {
  const def = schema._zod.def
  if (depth > MAX_DEPTH) return json
  const inner = (key: string) => fromSchema(def[key] as z.ZodType, depth + 1)
  switch (def.type) {
    case 'string':
      return fc.oneof(
        fc.string({ maxLength: MAX_STRING }),
        fc.constantFrom('12D3KooWPDgUCsmdPD9z8yMxtcBRYWEXZmr8byGpr2fFR4gnottJ', 'a'.repeat(64), 'zone-1'),
      )
    case 'number':
    case 'int':
      return fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 1, -1, NOW))
    case 'boolean':
      return fc.boolean()
    case 'literal':
      return fc.constantFrom(...(def.values as unknown[]))
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries as Record<string, unknown>))
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return fc.oneof(inner('innerType'), fc.constant(undefined))
    case 'pipe':
      return inner('in')
    case 'lazy':
      return fromSchema((def.getter as () => z.ZodType)(), depth + 1)
    case 'array':
      return fc.array(inner('element'), { maxLength: MAX_ARRAY })
    case 'record':
      return fc.dictionary(fc.string({ maxLength: MAX_STRING }), inner('valueType'), { maxKeys: MAX_ARRAY })
    case 'union':
      return fc.oneof(...(def.options as z.ZodType[]).map((option) => fromSchema(option, depth + 1)))
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>
      const fields = Object.fromEntries(
        Object.entries(shape).map(([key, value]) => [key, fromSchema(value, depth + 1)]),
      )
      return fc
        .tuple(
          fc.record(fields, { requiredKeys: [] }),
          fc.dictionary(fc.string({ maxLength: MAX_STRING }), json, { maxKeys: 1 }),
          fc.boolean(),
        )
        .map(([object, extra, addExtra]) => (addExtra ? { ...object, ...extra } : object))
    }
    default:
      return json
  }
}

/** Raw random bytes, UTF-8 of random text, and byte flips of `valid`'s encoding. */
function bytesArbitrary(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: MAX_RANDOM_BYTES }),
    fc.string({ maxLength: MAX_RANDOM_BYTES, unit: 'binary' }).map((text) => textEncoder.encode(text)),
    fc
      .tuple(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
      )
      .map(([bytes, flips, cut]) => {
        const copy = bytes.slice(0, bytes.byteLength - (cut % 3 === 0 ? cut % (bytes.byteLength + 1) : 0))
        for (const [at, value] of flips) if (copy.byteLength > 0) copy[at % copy.byteLength] = value
        return copy
      }),
  )
}

/** One mutation of a JSON value: a leaf replaced, tweaked or deleted, or a key added. */
export function mutationArbitrary(sample: unknown): fc.Arbitrary<unknown> {
  const paths = leafPaths(sample)
  return fc
    .record({
      path: fc.constantFrom(...paths),
      op: fc.constantFrom('replace', 'tweak', 'delete', 'add-key'),
      value: json,
      position: fc.nat(),
      delta: fc.integer({ min: -3, max: 3 }).filter((delta) => delta !== 0),
    })
    .map(({ path, op, value, position, delta }) => applyMutation(sample, path, op, value, position, delta))
}

function leafPaths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value))
    return [prefix, ...value.flatMap((item, index) => leafPaths(item, [...prefix, index]))]
  if (typeof value === 'object' && value !== null)
    return [prefix, ...Object.entries(value).flatMap(([key, item]) => leafPaths(item, [...prefix, key]))]
  return [prefix]
}

function applyMutation(
  sample: unknown,
  path: Array<string | number>,
  op: string,
  value: unknown,
  position: number,
  delta: number,
): unknown {
  const root = { value: structuredClone(sample) } as Record<string | number, unknown>
  const fullPath = ['value', ...path]
  const key = fullPath.at(-1) as string | number
  let parent: Record<string | number, unknown> = root
  for (const step of fullPath.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>
  const current = parent[key]
  switch (op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1)
      else delete parent[key]
      break
    case 'add-key':
      if (typeof current === 'object' && current !== null && !Array.isArray(current))
        (current as Record<string, unknown>)[`extra${position % 3}`] = value
      else parent[key] = value
      break
    case 'tweak':
      if (typeof current === 'string' && current.length > 0) {
        const at = position % current.length
        const code = current.charCodeAt(at) + delta
        parent[key] = current.slice(0, at) + String.fromCharCode(Math.max(0, code)) + current.slice(at + 1)
      } else if (typeof current === 'number') parent[key] = current + delta
      else if (typeof current === 'boolean') parent[key] = !current
      else parent[key] = value
      break
    default:
      parent[key] = value
  }
  return root.value
}

// ─── Valid samples (fixed keys, so a seed replays the same inputs) ───────────────────────────────

async function fixedSigner(seedByte: number): Promise<Signer> {
  return signerFromPrivateKey(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seedByte)))
}

export interface Samples {
  readonly commandCenter: Signer
  readonly operator: Signer
  readonly fieldNode: Signer
  readonly certificate: unknown
  readonly approval: unknown
  readonly command: unknown
  readonly revocation: unknown
  readonly checkpoint: unknown
  readonly announcement: unknown
  readonly frame: Frame
  readonly batchBytes: Uint8Array
  readonly batchFrames: readonly Frame[]
}

export async function buildSamples(): Promise<Samples> {
  const commandCenter = await fixedSigner(1)
  const operator = await fixedSigner(2)
  const fieldNode = await fixedSigner(3)
  const certificate = await issueOperatorCertificate(commandCenter, {
    operatorId: operator.id,
    displayName: 'Fuzz operator',
    roles: ['operator'],
    issuedAt: NOW - HOUR,
    expiresAt: NOW + HOUR,
  })
  const proposal = makeProposal({ targetNode: fieldNode.id, authorId: commandCenter.id })
  const approval = await signApproval(operator, {
    proposalHash: proposalHash(proposal),
    decision: 'approve',
    operatorCertificate: certificate,
    operatorLink: 'lan',
    at: NOW,
    nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    reason: 'fuzz',
  })
  const command = await issueCommand(commandCenter, {
    proposal,
    approvals: [approval],
    issuedAt: NOW,
    leaderTerm: 3,
    observedLinks: { [approval.body.nonce]: 'lan' },
  })
  const revocation = await issueOperatorRevocation(commandCenter, {
    operatorId: operator.id,
    revokedAt: NOW,
    reason: 'lost phone',
  })
  const checkpoint = await signEvidenceCheckpoint(fieldNode, { seq: 7, hash: 'a'.repeat(64) }, NOW)
  const announcement = await signLeaderAnnouncement(commandCenter, {
    ...MESH,
    role: 'planner',
    term: 2,
    issuedAt: NOW,
  })
  const frameFields = (value: number): FrameFields =>
    ({
      ...MESH,
      kind: 'observation',
      originName: 'field-1',
      timestamp: NOW,
      data: { zone: 'zone-1', metric: 'soil-moisture', value, unit: '%', threshold: { low: 25 } },
      trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-1'] },
    }) as FrameFields
  const frame = await createFrame(fieldNode, frameFields(31.5))
  const sealed = await sealBatch(fieldNode, [frameFields(20), frameFields(21)])
  return {
    commandCenter,
    operator,
    fieldNode,
    certificate,
    approval,
    command,
    revocation,
    checkpoint,
    announcement,
    frame,
    batchBytes: sealed.bytes,
    batchFrames: sealed.frames,
  }
}

// ─── Targets ─────────────────────────────────────────────────────────────────────────────────────

const RPC_ENVELOPE_CODES: readonly ErrorCode[] = ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE']

/** The server's path up to the handler: envelope, then (for a known method) its params. */
async function rpcBytes(bytes: Uint8Array): Promise<void> {
  let request: ReturnType<typeof decodeRpcRequest> | undefined
  await classified('rpc.envelope', RPC_ENVELOPE_CODES, () => {
    request = decodeRpcRequest(bytes)
  })
  if (request !== undefined && isRpcMethodName(request.method)) {
    const { method, params } = request
    await classified(`rpc.${method}`, ['INVALID_PARAMS'], () => parseRpcParams(method, params))
  }
}

/** The RPC envelope decoded as a careless server would (JSON.parse, schema.parse): what the
 * fuzz test proves its property would catch. */
export function careless(bytes: Uint8Array): void {
  rpcRequestSchema.parse(JSON.parse(new TextDecoder().decode(bytes)))
}

export function buildTargets(samples: Samples): FuzzTarget[] {
  const trusted = new Set([samples.commandCenter.id])
  const certificateOptions = { trustedIssuers: trusted, now: NOW, isRevoked: () => false }
  const validRequests = (Object.keys(RPC_METHODS) as RpcMethodName[]).map((method, index) =>
    encodeJsonMessage({ id: `r${index}`, method, params: {} }, RPC_MAX_MESSAGE_BYTES),
  )
  const envelopeObject = fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 70 }), json),
      method: fc.oneof(fc.constantFrom(...Object.keys(RPC_METHODS)), fc.string({ maxLength: 70 }), json),
      params: fc.oneof(json, noise),
    },
    { requiredKeys: [] },
  )

  const targets: FuzzTarget[] = [
    {
      name: 'rpc.envelope (bytes)',
      arbitrary: fc.oneof(
        bytesArbitrary(validRequests),
        fc.oneof(envelopeObject, json).map((value) => textEncoder.encode(safeStringify(value))),
      ),
      run: (input) => rpcBytes(input as Uint8Array),
    },
    ...(Object.keys(RPC_METHODS) as RpcMethodName[]).map(
      (method): FuzzTarget => ({
        name: `rpc.${method} params`,
        arbitrary: fromSchema(RPC_METHODS[method].params),
        run: (input) => classified(`rpc.${method}`, ['INVALID_PARAMS'], () => parseRpcParams(method, input)),
      }),
    ),
    signedTarget('operator certificate', samples.certificate, OPERATOR_CERTIFICATE_REJECTIONS, (input) =>
      verifyOperatorCertificate(input, certificateOptions),
    ),
    signedTarget('approval', samples.approval, APPROVAL_REJECTIONS, (input) =>
      verifyApproval(input, certificateOptions),
    ),
    signedTarget('command', samples.command, COMMAND_REJECTIONS, (input) =>
      verifyCommandIssuer(input, { trustedCommandCenters: trusted }),
    ),
    signedTarget('operator revocation', samples.revocation, OPERATOR_REVOCATION_REJECTIONS, (input) =>
      verifyOperatorRevocation(input, { trustedIssuers: trusted, now: NOW }),
    ),
    signedTarget('evidence checkpoint', samples.checkpoint, CHECKPOINT_REFUSALS, (input) =>
      verifyEvidenceCheckpoint(input),
    ),
    signedTarget('leader announcement', samples.announcement, LEADER_ANNOUNCEMENT_REFUSALS, (input) =>
      verifyLeaderAnnouncement(input, leaderOptions(samples)),
    ),
    signedTarget(
      'context frame',
      samples.frame,
      Object.fromEntries(FRAME_VERDICT_REASONS.map((r) => [r, r])),
      (input) => verifyFrame(input, frameOptions(samples)),
    ),
    {
      name: 'leader announcement (bytes)',
      arbitrary: bytesArbitrary([textEncoder.encode(JSON.stringify(samples.announcement))]),
      run: async (input) => {
        // As node/planner/election.ts reads gossip: size bound, UTF-8 JSON, then the verifier.
        const bytes = input as Uint8Array
        if (bytes.byteLength > LEADER_ANNOUNCEMENT_MAX_BYTES) return
        let candidate: unknown
        try {
          candidate = decodeJsonMessage(bytes, LEADER_ANNOUNCEMENT_MAX_BYTES)
        } catch (error) {
          return classified('leader announcement', ['BAD_REQUEST'], () => {
            throw error
          })
        }
        const { accepted } = await verdict(
          'leader announcement',
          Object.keys(LEADER_ANNOUNCEMENT_REFUSALS),
          () => verifyLeaderAnnouncement(candidate, leaderOptions(samples)),
        )
        if (accepted && canonicalOrUndefined(candidate) !== canonicalJson(samples.announcement))
          throw new FuzzFailure('accepted-mutation', 'leader announcement', safeStringify(candidate))
      },
    },
    batchTarget(samples),
    {
      name: 'pairing request (bytes)',
      arbitrary: fc.oneof(
        bytesArbitrary([textEncoder.encode('{"code":"ABCD-1234","name":"pump house"}')]),
        fromSchema(pairingRequestSchema).map((value) => textEncoder.encode(safeStringify(value))),
      ),
      run: (input) =>
        decodeThenParse(
          'pairing request',
          input as Uint8Array,
          PAIRING_MESSAGE_MAX_BYTES,
          pairingRequestSchema,
        ),
    },
    {
      name: 'pairing response (bytes)',
      arbitrary: fc.oneof(
        bytesArbitrary([
          textEncoder.encode(
            JSON.stringify({
              ok: true,
              kind: 'operator',
              commandCenterId: samples.commandCenter.id,
              commandCenterName: 'cc',
              meshName: MESH.meshName,
              certificate: samples.certificate,
            }),
          ),
        ]),
        fromSchema(pairingResponseSchema).map((value) => textEncoder.encode(safeStringify(value))),
      ),
      run: (input) =>
        decodeThenParse(
          'pairing response',
          input as Uint8Array,
          PAIRING_MESSAGE_MAX_BYTES,
          pairingResponseSchema,
        ),
    },
    {
      name: 'console config',
      arbitrary: fc.oneof(
        fromSchema(consoleConfigSchema),
        mutationArbitrary({
          version: 1,
          ...MESH,
          commandCenter: {
            deviceId: samples.commandCenter.id,
            name: 'cc',
            addrs: [`/ip4/10.0.0.1/tcp/7001/wss/p2p/${samples.commandCenter.id}`],
          },
          site: { id: 'farm', name: 'Farm', zones: [] },
        }),
      ),
      run: (input) => schemaOnly('console config', consoleConfigSchema, input),
    },
  ]
  return targets
}

const COMMAND_REJECTIONS = { malformed: '', 'untrusted-issuer': '', 'bad-signature': '' }

/** A signed record's verifier, fed schema-shaped junk and single mutations of a valid record: it
 * answers in its table, and accepts nothing whose canonical form differs from the valid one. */
function signedTarget(
  name: string,
  sample: unknown,
  rejections: Record<string, unknown>,
  verify: (input: unknown) => Promise<{ reason?: string; outcome?: string; verdict?: string }>,
): FuzzTarget {
  const original = canonicalJson(sample)
  return {
    name,
    acceptsSample: async () => {
      const answer = await verify(structuredClone(sample))
      return answer.outcome === 'accept' || answer.verdict === 'accept'
    },
    arbitrary: fc.oneof({ weight: 4, arbitrary: mutationArbitrary(sample) }, { weight: 1, arbitrary: noise }),
    run: async (input) => {
      const { accepted } = await verdict(name, Object.keys(rejections), () => verify(input))
      if (accepted && canonicalOrUndefined(input) !== original)
        throw new FuzzFailure('accepted-mutation', name, safeStringify(input).slice(0, 2_000))
    },
  }
}

function batchTarget(samples: Samples): FuzzTarget {
  const decoded = decodeJsonMessage(samples.batchBytes, RPC_MAX_MESSAGE_BYTES)
  const originals = new Set(samples.batchFrames.map((frame) => canonicalJson({ ...frame, proof: undefined })))
  const reasons: readonly string[] = FRAME_VERDICT_REASONS
  return {
    name: 'context batch (bytes)',
    acceptsSample: async () =>
      (await decodeBatch(samples.batchBytes, frameOptions(samples))).verdict === 'accept',
    arbitrary: fc.oneof(
      bytesArbitrary([samples.batchBytes]),
      mutationArbitrary(decoded).map((value) => textEncoder.encode(safeStringify(value))),
    ),
    run: async (input) => {
      let result: Awaited<ReturnType<typeof decodeBatch>>
      try {
        result = await decodeBatch(input as Uint8Array, frameOptions(samples))
      } catch (error) {
        throw new FuzzFailure('unclassified', 'context batch', `decodeBatch threw ${describe(error)}`, {
          cause: error,
        })
      }
      checkBatchAnswer(result, reasons, originals)
    },
  }
}

/** A batch answer: reasons from the frame table only, and accepted frames only the signed ones. */
function checkBatchAnswer(
  result: Awaited<ReturnType<typeof decodeBatch>>,
  reasons: readonly string[],
  originals: ReadonlySet<string>,
): void {
  if (result.reason !== undefined && !reasons.includes(result.reason))
    throw new FuzzFailure('unclassified', 'context batch', `reason ${result.reason}`)
  for (const frame of result.frames) {
    if (frame.verdict !== 'accept') {
      if (!reasons.includes(frame.reason))
        throw new FuzzFailure('unclassified', 'context batch', `frame reason ${frame.reason}`)
    } else if (!originals.has(canonicalJson({ ...frame.frame, proof: undefined }))) {
      throw new FuzzFailure('accepted-mutation', 'context batch', safeStringify(frame.frame).slice(0, 2_000))
    }
  }
}

function leaderOptions(samples: Samples) {
  return {
    ...MESH,
    isTrustedOrigin: (id: string) => id === samples.commandCenter.id,
    isEligibleOrigin: (id: string) => id === samples.commandCenter.id,
    roleOf: () => undefined,
    heldTerm: 1,
  }
}

function frameOptions(samples: Samples) {
  return { ...MESH, now: NOW, isTrustedOrigin: (id: string) => id === samples.fieldNode.id }
}

/** A bytes-then-schema decoder (pairing): decodeJsonMessage refuses with its codes, the schema's
 * safeParse must not throw. */
async function decodeThenParse(name: string, bytes: Uint8Array, maxBytes: number, schema: z.ZodType) {
  let value: unknown
  let decoded = false
  await classified(name, ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE'], () => {
    value = decodeJsonMessage(bytes, maxBytes)
    decoded = true
  })
  if (decoded) schemaOnly(name, schema, value)
}

/** A schema at a boundary: `safeParse` answers, it must never throw. */
function schemaOnly(name: string, schema: z.ZodType, input: unknown): void {
  try {
    schema.safeParse(input)
  } catch (error) {
    throw new FuzzFailure('unclassified', name, `safeParse threw ${describe(error)}`, { cause: error })
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null'
  } catch {
    return 'null'
  }
}
