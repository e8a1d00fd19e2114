# .bashrc of the demo system
alias ll="ls -l"
