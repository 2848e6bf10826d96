// A value the hub and the page share. It lives beside the page's modules, where the browser can
// load it; notification-types.ts is shared as types only, which the page never loads.

/** The error every tab of a user who signed out is closed with (NotificationHub's SignOut). */
export const signedOutEverywhere = "Signed out on every tab.";
