#!/usr/bin/env node
// Starts s3rver (an S3-compatible server keeping objects in a temporary
// directory) bound to 127.0.0.1 only and prints one ready line that tests
// wait for:
//   s3rver ready http://127.0.0.1:PORT
// Usage: node start.js [--port N]   (0, the default, picks a free port)
// The server stops on SIGTERM or SIGINT, and when its standard input
// closes, so a test that dies does not leave it running.
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')

function main() {
  let port = 0
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--port' || i + 1 >= argv.length || !/^[0-9]+$/.test(argv[i + 1])) {
      console.error(`start.js: unknown or incomplete option ${argv[i]}`)
      process.exit(2)
    }
    port = Number(argv[++i])
  }
  const S3rver = require(path.join(__dirname, 'node_modules', 's3rver'))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'))
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir, resetOnClose: true })
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    server.close().finally(() => {
      fs.rmSync(dir, { recursive: true, force: true })
      process.exit(0)
    })
  }
  server.run().then((addr) => {
    console.log(`s3rver ready http://${addr.address}:${addr.port}`)
  }, (e) => {
    console.error(`start.js: s3rver: ${e.message}`)
    process.exit(1)
  })
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
}

main()
