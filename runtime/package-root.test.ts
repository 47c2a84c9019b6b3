import { describe, expect, it } from 'vitest'
import { codeLocationOf } from './package-root.ts'

// Pins the three layouts the package's files are found from: a wrong root here breaks the demo farm,
// the console's files and the version in an installed package only (test/package-install.test.ts).
describe('codeLocationOf', () => {
  it('finds the checkout from runtime/ of the sources', () => {
    expect(codeLocationOf('/src/clawmesh/runtime')).toEqual({
      layout: 'sources',
      packageRoot: '/src/clawmesh',
      codeRoot: '/src/clawmesh',
    })
  })

  it('finds the package above dist/ from tsc output in dist/runtime/', () => {
    expect(codeLocationOf('/opt/p/node_modules/clawmesh/dist/runtime')).toEqual({
      layout: 'dist',
      packageRoot: '/opt/p/node_modules/clawmesh',
      codeRoot: '/opt/p/node_modules/clawmesh/dist',
    })
  })

  it('finds the package two levels up from a bundle chunk, assets beside the chunks', () => {
    expect(codeLocationOf('/opt/p/node_modules/clawmesh/dist/bundle')).toEqual({
      layout: 'bundle',
      packageRoot: '/opt/p/node_modules/clawmesh',
      codeRoot: '/opt/p/node_modules/clawmesh/dist/bundle',
    })
  })
})
