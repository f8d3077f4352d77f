// A throwaway CA and a server certificate for 127.0.0.1, made fresh for each simulated cluster.
import selfsigned from 'selfsigned'

export interface Certificates {
  caCert: string
  caKey: string
  serverCert: string
  serverKey: string
}

const DAY = 24 * 60 * 60 * 1000

export async function makeCaCert(): Promise<{cert: string; key: string}> {
  const ca = await selfsigned.generate([{name: 'commonName', value: 'kubectl-dualstack simulated cluster CA'}], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate: new Date(Date.now() - DAY), notAfterDate: new Date(Date.now() + 30 * DAY),
    extensions: [{name: 'basicConstraints', cA: true, critical: true}, {name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true}],
  })
  return {cert: ca.cert, key: ca.private}
}

export async function makeCertificates(): Promise<Certificates> {
  const ca = await makeCaCert()
  const server = await selfsigned.generate([{name: 'commonName', value: 'kube-apiserver'}], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate: new Date(Date.now() - DAY), notAfterDate: new Date(Date.now() + 30 * DAY),
    ca: {key: ca.key, cert: ca.cert},
    extensions: [
      {name: 'basicConstraints', cA: false},
      {name: 'keyUsage', digitalSignature: true, keyEncipherment: true},
      {name: 'extKeyUsage', serverAuth: true},
      {name: 'subjectAltName', altNames: [{type: 2, value: 'localhost'}, {type: 7, ip: '127.0.0.1'}]},
    ],
  })
  return {caCert: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.private}
}
