// What client-node's KubeConfig (dist/config.js) takes from its generated API index. The index evaluates
// every generated API and model (about 560 KB) that this plugin never uses: the build (.ci/build.ts) points
// config.js's import of it here. Should a client-node release take more from the index, the bundle fails
// to build ("No matching export"), never silently.
export {createConfiguration} from '@kubernetes/client-node/dist/gen/configuration.js'
export {ServerConfiguration} from '@kubernetes/client-node/dist/gen/servers.js'
