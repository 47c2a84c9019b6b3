/** Composition root of the operator console: one session, one app, the service worker. */
import { render } from 'solid-js/web'
import { App } from './App.tsx'
import { createConsoleSession } from './state/console-session.ts'
import './styles.css'

const session = createConsoleSession()
render(() => <App session={session} />, document.getElementById('app')!)

// The service worker precaches the app shell so the console opens offline. A secure context is
// required (HTTPS, or http://127.0.0.1 / localhost); elsewhere the console still runs, online only.
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker.register('./sw.js', { scope: './' }).catch((error: Error) => {
    console.warn(`service worker not registered: ${error.message}`)
  })
}
