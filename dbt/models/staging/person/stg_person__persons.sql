with

source as (

    select * from {{ source('person', 'person') }}

),

renamed as (

    select
        cast(businessentityid as {{ dbt.type_bigint() }}) as person_id,
        -- char(2) in the source: drop the padding
        trim(cast(persontype as {{ dbt.type_string() }})) as person_type,
        cast(namestyle as {{ dbt.type_boolean() }}) as is_eastern_name_style,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(firstname as {{ dbt.type_string() }}) as first_name,
        cast(middlename as {{ dbt.type_string() }}) as middle_name,
        cast(lastname as {{ dbt.type_string() }}) as last_name,
        cast(suffix as {{ dbt.type_string() }}) as suffix,
        cast(emailpromotion as {{ dbt.type_bigint() }}) as email_promotion,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
