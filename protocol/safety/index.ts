/**
 * The safety core: who may approve what, on which evidence, and the signed records that prove it.
 * Pure and isomorphic; the sender, the command center and the actuator import it from here.
 */
export * from './approval.ts'
export * from './command.ts'
export * from './constants.ts'
export * from './estop.ts'
export * from './evidence.ts'
export * from './evidence-checkpoint.ts'
export * from './evidence-log.ts'
export * from './execution-check.ts'
export * from './operator-certificate.ts'
export * from './operator-link.ts'
export * from './policy.ts'
export * from './proposal.ts'
export * from './proposal-outcome.ts'
export * from './proposal-record.ts'
export * from './proposal-state.ts'
export * from './revocation.ts'
export { isTrustedIssuer, type TrustedIssuers } from './schemas.ts'
