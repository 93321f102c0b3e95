/**
 * The workshop's web app as the seed writes it: its Deployment (`deploy.yaml`: two replicas, the container named
 * `web`) and its Service (`service.yaml`: port 3000 to the Pods' 80). One text for the web step and for the guided
 * run's first look (the Deployment created right after the apiserver), so the two never make different Pods: a
 * `kubectl create deployment` names its container after the image, and an apply of the seed's file then adds a
 * second container beside it.
 */

/** The Deployment, with the image the node runs (`--web-image`; tagged, or the kubelet pulls `:latest` every time). */
export const webDeployment = (image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: ${image}
        name: web
`;

/** The Service in front of it. */
export const WEB_SERVICE = `apiVersion: v1
kind: Service
metadata:
  labels:
    app: web
  name: web
spec:
  ports:
  - port: 3000
    protocol: TCP
    targetPort: 80
  selector:
    app: web
`;

/** Both, as one file of two documents. */
export const webManifests = (image: string): string => `${webDeployment(image)}---\n${WEB_SERVICE}`;
