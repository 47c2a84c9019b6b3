/**
 * Builds the operator console (browser/src) into browser/dist: a solid-js app with a service worker
 * that precaches the app shell, so the console opens offline and shows its last known state.
 * `npm run build:console`; the e2e tests build it when dist is missing or older than the sources.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'
import solid from 'vite-plugin-solid'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root,
  base: './',
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One chart library, libp2p and zod: the budget is 300 KB gzip for the whole console.
    chunkSizeWarningLimit: 1_200,
  },
  plugins: [
    solid(),
    VitePWA({
      strategies: 'generateSW',
      registerType: 'autoUpdate',
      injectRegister: false,
      includeAssets: ['icons/*.png'],
      manifest: {
        name: 'ClawMesh operator console',
        short_name: 'ClawMesh',
        description: 'See and govern a ClawMesh site: topology, telemetry, proposals, the live twin.',
        start_url: './',
        scope: './',
        display: 'standalone',
        background_color: '#0f1720',
        theme_color: '#0f1720',
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,png,webmanifest}'],
        navigateFallback: 'index.html',
        // The config names the command center of the site that served us: always ask the network
        // first, fall back to the last copy when the command center is unreachable.
        runtimeCaching: [
          {
            urlPattern: ({ url }) => url.pathname.endsWith('/console-config.json'),
            handler: 'NetworkFirst',
            options: { cacheName: 'console-config', networkTimeoutSeconds: 3 },
          },
        ],
      },
    }),
  ],
})
