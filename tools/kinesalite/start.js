#!/usr/bin/env node
// Starts kinesalite bound to 127.0.0.1 only (its own CLI listens on every
// interface) and prints one ready line that tests wait for:
//   kinesalite ready http://127.0.0.1:PORT
// Usage: node start.js [--port N] [--createStreamMs MS] [--updateStreamMs MS]
//                      [--deleteStreamMs MS] [--shardLimit N]
// --port 0 (the default) picks a free port. The server stops on SIGTERM or
// SIGINT, and when its standard input closes, so a test that dies does not
// leave it running.
'use strict'

const path = require('path')

function parseArgs(argv) {
  const opts = { port: 0, createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, shardLimit: 50 }
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '')
    if (!(name in opts) || i + 1 >= argv.length) {
      throw new Error(`start.js: unknown or incomplete option ${argv[i]}`)
    }
    const v = Number(argv[++i])
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`start.js: --${name} wants a non-negative integer, got ${argv[i]}`)
    }
    opts[name] = v
  }
  return opts
}

// kinesalite throws from a request's 'error' handler when a client goes
// away mid-request (as a consumer killed with SIGKILL does), which would
// take the whole server down. A dropped client is not the server's error:
// log it and keep serving; anything else still ends the process.
function survivableClientError(e) {
  return e && (e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.message === 'aborted')
}

function main() {
  process.on('uncaughtException', (e) => {
    if (survivableClientError(e)) {
      console.error(`start.js: client went away mid-request (${e.code || e.message}); still serving`)
      return
    }
    console.error(e)
    process.exit(1)
  })
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (e) {
    console.error(e.message)
    process.exit(2)
  }
  const kinesalite = require(path.join(__dirname, 'node_modules', 'kinesalite'))
  const server = kinesalite({
    createStreamMs: opts.createStreamMs,
    deleteStreamMs: opts.deleteStreamMs,
    updateStreamMs: opts.updateStreamMs,
    shardLimit: opts.shardLimit,
  })
  server.on('error', (e) => {
    console.error(`start.js: kinesalite: ${e.message}`)
    process.exit(1)
  })
  server.listen(opts.port, '127.0.0.1', () => {
    const a = server.address()
    console.log(`kinesalite ready http://${a.address}:${a.port}`)
  })
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
}

main()
