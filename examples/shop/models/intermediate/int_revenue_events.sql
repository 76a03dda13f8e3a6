-- A single revenue stream: one-off shop orders plus monthly subscription charges.
with order_revenue as (

    select
        'order' as revenue_type,
        cast(order_id as varchar) as source_id,
        customer_id,
        order_date as revenue_date,
        paid_amount_cents as amount_cents
    from {{ ref('int_orders_enriched') }}
    where payment_state in ('paid', 'partially_paid')
      and order_status <> 'returned'

),

subscription_revenue as (

    select
        'subscription' as revenue_type,
        subscription_id || '-' || strftime(month_start, '%Y-%m') as source_id,
        customer_id,
        month_start as revenue_date,
        mrr_cents as amount_cents
    from {{ ref('int_subscription_months') }}

)

select * from order_revenue
union all
select * from subscription_revenue
