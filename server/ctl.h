/* oauth-relayctl: one entry per command (tmux's cmd_entry pattern). */
#ifndef OAUTH_RELAY_CTL_H
#define OAUTH_RELAY_CTL_H

struct ctl_command {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

extern const struct ctl_command ctl_flow;
extern const struct ctl_command ctl_keys;
extern const struct ctl_command ctl_pickup;
extern const struct ctl_command ctl_register;
extern const struct ctl_command ctl_revoke;
extern const struct ctl_command ctl_stats;
extern const struct ctl_command ctl_token;

#endif
