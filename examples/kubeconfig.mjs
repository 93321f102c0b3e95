// Build a kubeconfig in memory with kubectl's semantics and print it as kubectl would write it.
import { emptyConfig, setCluster, setContext, setCredentials, toYaml, useContext } from "@dk-bootstrap/kubeconfig";

const cfg = emptyConfig();
setCluster(cfg, "lab", { server: "https://192.168.1.10:6443", insecureSkipTlsVerify: true });
setCredentials(cfg, "ci", { token: "not-a-real-token" });
setContext(cfg, "ci@lab", { cluster: "lab", user: "ci", namespace: "default" });
useContext(cfg, "ci@lab");
process.stdout.write(toYaml(cfg));
