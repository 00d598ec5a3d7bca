"""Demand-driven publishing: data requests, feedback on datasets, agencies' targets and
the programme's progress.

Every page or API need is one call:

- requests: :func:`requests.create`, :func:`requests.show`, :func:`listing.list_requests`
  (filters, search, paging, facets), :func:`requests.update` (edit and triage),
  :func:`requests.close`, :func:`requests.withdraw`, :func:`requests.delete`,
  :func:`social.vote` / :func:`social.unvote`, :func:`social.follow` /
  :func:`social.unfollow`,
  :func:`social.comment`, :func:`social.comment_list`, :func:`social.comment_delete`;
- feedback: :func:`feedback.create`, :func:`feedback.list_feedback`, :func:`feedback.delete`;
- targets: :func:`targets.set_target`, :func:`targets.list_targets`,
  :func:`targets.delete_target`;
- progress: :func:`progress.agency_progress`, :func:`progress.programme_progress`.
"""
