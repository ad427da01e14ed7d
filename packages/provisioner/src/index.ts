export { orphanReason } from "./cleanup/cleanup-daemon.ts";
export { chooseHost, noRoomNote } from "./disk/placement.ts";
export { DockerRuntime, LABELS } from "./hosts/docker-runtime.ts";
export { HostPool } from "./hosts/host-pool.ts";
export { SshConnection } from "./hosts/ssh-connection.ts";
export { CREATE_STEPS, DELETE_STEPS } from "./jobs/workspace-steps.ts";
