// HubException lives with the other error types so every layer can raise it; hubs re-export it.
export { HubException } from "../errors.js";
