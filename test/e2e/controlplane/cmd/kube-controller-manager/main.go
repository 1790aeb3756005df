// Command kube-controller-manager is the upstream controller manager. The
// controlplane command starts it as a child process when asked to, so that
// Deployments, ReplicaSets and Jobs create pods and namespaces get deleted.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
