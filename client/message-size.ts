/**
 * How much one message of a shared connection's outbox, or one POST joining several sends,
 * holds at most (characters for text, bytes for binary): under the smallest message a hubwire
 * server reads whole (1 MiB) even at three bytes a character.
 */
export const maxMessageSize = 256 * 1024;
