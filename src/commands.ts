// Every command, by its oclif id, for oclif's `explicit` discovery: the CLI is one bundled file, so oclif
// cannot find commands by scanning a directory. A command missing here does not exist.
import CalicoRestart from './commands/calico-restart.js'
import Completion from './commands/completion.js'
import Connectivity from './commands/connectivity.js'
import Doctor from './commands/doctor.js'
import IppoolFix from './commands/ippool/fix.js'
import Lint from './commands/lint.js'
import PodIps from './commands/pod-ips.js'
import PodsRecreate from './commands/pods/recreate.js'
import ServicesDual from './commands/services/dual.js'
import SvcCheck from './commands/svc-check.js'

export const COMMANDS = {
  'calico-restart': CalicoRestart,
  completion: Completion,
  connectivity: Connectivity,
  doctor: Doctor,
  'ippool:fix': IppoolFix,
  lint: Lint,
  'pod-ips': PodIps,
  'pods:recreate': PodsRecreate,
  'services:dual': ServicesDual,
  'svc-check': SvcCheck,
}
