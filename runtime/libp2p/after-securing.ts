/**
 * One way to adjust every connection an encrypter secures (write-batching.ts, noise-frame-lengths.ts):
 * wrap its factory so that each secured connection, inbound and outbound, passes through `adjust`
 * before libp2p sees it. `adjust` also gets the connection it was secured over.
 */
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'

export function afterSecuring<Components>(
  factory: (components: Components) => ConnectionEncrypter,
  adjust: (secured: MessageStream, carrier: MessageStream) => void,
): (components: Components) => ConnectionEncrypter {
  return (components) => {
    const encrypter = factory(components)
    for (const direction of ['secureInbound', 'secureOutbound'] as const) {
      const secure = encrypter[direction].bind(encrypter)
      encrypter[direction] = async (connection, options) => {
        const secured = await secure(connection, options)
        adjust(secured.connection, connection)
        return secured
      }
    }
    return encrypter
  }
}
