# .bash_profile of the demo system
[ -f ~/.bashrc ] && . ~/.bashrc
