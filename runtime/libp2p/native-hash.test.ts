import { describe, expect, it } from 'vitest'
import { gossipMessageId } from '../../protocol/context/batch.ts'
import { nativeSha256 } from './native-hash.ts'

describe('native gossip message IDs', () => {
  it('equal the portable ID the browser console computes, so IHAVE/IWANT agree across both', () => {
    for (const size of [0, 1, 511, 4_096, 40_000]) {
      const data = new Uint8Array(size).map((_, index) => (index * 31 + size) & 0xff)
      expect(nativeSha256(data)).toEqual(gossipMessageId(data))
    }
  })
})
